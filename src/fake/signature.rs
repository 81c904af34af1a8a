//! Signatures the fake server puts on the thinking it sends, and checks on the thinking it gets
//! back.
//!
//! The real API signs each `thinking` block and encrypts each `redacted_thinking` block, and
//! refuses a later request whose copy of either was altered; a client that rebuilds history
//! from text rather than sending the blocks back byte for byte only finds out there. The fake
//! does the same with a keyed hash (std's SipHash behind a fixed key, hashed four times over
//! for 32 bytes): deterministic, so a signature verifies on every server of the same build, and
//! without a new dependency. It is a test fixture, not cryptography.

use std::hash::{DefaultHasher, Hash, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The fixed key mixed into every hash.
const KEY: &str = "tern-fake-server thinking key";
/// Bytes of a MAC.
const MAC_LEN: usize = 32;

fn mac(domain: &str, data: &[u8]) -> [u8; MAC_LEN] {
    let mut out = [0u8; MAC_LEN];
    for (round, chunk) in out.chunks_mut(8).enumerate() {
        let mut hasher = DefaultHasher::new();
        (KEY, round, domain, data).hash(&mut hasher);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    out
}

/// The `signature` of a thinking block whose text is `thinking`.
pub(crate) fn sign_thinking(thinking: &str) -> String {
    STANDARD.encode(mac("thinking", thinking.as_bytes()))
}

/// Whether `signature` is the one this server gives `thinking`.
pub(crate) fn verify_thinking(thinking: &str, signature: &str) -> bool {
    signature == sign_thinking(thinking)
}

/// Opaque `data` for a `redacted_thinking` block, unique per `seed`.
pub(crate) fn redacted_data(seed: &str) -> String {
    let mut bytes = mac("redacted", seed.as_bytes()).to_vec();
    bytes.extend_from_slice(seed.as_bytes());
    STANDARD.encode(bytes)
}

/// Whether this server issued `data` (via [`redacted_data`]).
pub(crate) fn verify_redacted(data: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(data) else {
        return false;
    };
    bytes.len() >= MAC_LEN && {
        let (tag, seed) = bytes.split_at(MAC_LEN);
        tag == mac("redacted", seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_their_own_text() {
        let signature = sign_thinking("let me think");
        assert!(verify_thinking("let me think", &signature));
        assert!(!verify_thinking("let me think!", &signature));
        assert!(!verify_thinking("let me think", "EqQBCgIYAhIM"));
        assert_ne!(sign_thinking("a"), sign_thinking("b"));
    }

    #[test]
    fn redacted_data_verifies_until_touched() {
        let data = redacted_data("msg_fake_1");
        assert!(verify_redacted(&data));
        assert!(!verify_redacted("redacted-thinking-data"));
        assert!(!verify_redacted(""));
        let mut bytes = STANDARD.decode(&data).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(!verify_redacted(&STANDARD.encode(bytes)));
    }
}
