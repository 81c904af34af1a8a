//! Ids the reducer makes (conversations, messages), from a source the driver seeds once.
//!
//! `App::update` must not reach for randomness, so a new conversation or message takes its id
//! from here: splitmix64 over a 64-bit seed. The driver seeds it from the OS's randomness (ids
//! stay as unlikely to collide across machines as random ones); a test seeds it with a constant
//! and gets the same ids on every run.

/// A seeded sequence of distinct 16-hex-character ids (the store's id format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    state: u64,
}

impl Ids {
    pub fn seeded(seed: u64) -> Ids {
        Ids { state: seed }
    }

    /// The next id. splitmix64 is a bijection of its counter, so a session never repeats one.
    pub fn next_id(&mut self) -> String {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        format!("{:016x}", z ^ (z >> 31))
    }
}

#[cfg(test)]
mod tests {
    use super::Ids;

    #[test]
    fn same_seed_same_ids_and_no_repeats() {
        let (mut a, mut b) = (Ids::seeded(7), Ids::seeded(7));
        let ids: Vec<String> = (0..1000).map(|_| a.next_id()).collect();
        assert_eq!(ids, (0..1000).map(|_| b.next_id()).collect::<Vec<_>>());
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        assert!(ids.iter().all(|id| id.len() == 16));
    }
}
