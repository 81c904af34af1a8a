//! Replays recorded-shape fixtures (tests/fixtures/messages, made as its README says) through the
//! real SSE decoder and accumulator, and compares each result with what the official Python SDK
//! builds for it (`*.expected.json`): the same blocks with every field, stop reason, stop
//! sequence and usage; an error where the SDK (or tern's stricter rule) ends in one. Any
//! chunking of the bytes gives the same result (a proptest).
//!
//! Fields of the SDK's message that tern's `Message` does not have yet are not compared; each
//! field tern has is. Where the cases the fixtures were modelled on are on this machine, they
//! are replayed too and compared with a hash of the SDK's result kept in `shared.tsv`.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};
use tern::api::{ApiError, EventDecoder, Message};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages")
}

/// The case files of `dir` (`stream/*.sse`, `json/*.json`), sorted.
fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (sub, ext) in [("stream", ".sse"), ("json", ".json")] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.ends_with(ext) && !name.ends_with(".expected.json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Decode `bytes` fed in the pieces `cuts` makes, as the HTTP stream does: reading stops at
/// the first error or once the message is complete; then the body ends cleanly.
fn decode(bytes: &[u8], cuts: &[usize]) -> Result<Message, ApiError> {
    let mut decoder = EventDecoder::new();
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(last, bytes.len());
        decoder.feed(&bytes[last..cut], &mut |_| {})?;
        last = cut;
        if decoder.accumulator.is_complete() {
            return decoder.accumulator.finish();
        }
    }
    decoder.finish(&mut |_| {})?;
    decoder.accumulator.finish()
}

fn replay(path: &Path, cuts: &[usize]) -> Value {
    let bytes = std::fs::read(path).unwrap();
    let result = if path.extension().is_some_and(|e| e == "sse") {
        decode(&bytes, cuts)
    } else {
        serde_json::from_slice::<Message>(&bytes).map_err(|e| ApiError::Protocol(e.to_string()))
    };
    match result {
        Ok(message) => json!({"message": serde_json::to_value(message).unwrap()}),
        Err(ApiError::Stream {
            error_type,
            message,
            ..
        }) => json!({"error": {"kind": "stream", "type": error_type, "message": message}}),
        Err(ApiError::Truncated { .. }) => json!({"error": {"kind": "truncated"}}),
        Err(ApiError::Protocol(detail)) => json!({"error": {"kind": "protocol", "detail": detail}}),
        Err(other) => json!({"error": {"kind": format!("{other:?}")}}),
    }
}

fn drop_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(drop_nulls).collect()),
        other => other.clone(),
    }
}

const MESSAGE_FIELDS: [&str; 7] = [
    "content",
    "id",
    "model",
    "role",
    "stop_reason",
    "stop_sequence",
    "type",
];
const USAGE_FIELDS: [&str; 4] = [
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
];

/// Where `got` differs from `want` (both as [`replay`] and `make.py` write them).
fn differences(want: &Value, got: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(error) = want.get("error") {
        let Some(got_error) = got.get("error") else {
            return vec![format!("want error {error}, got a message")];
        };
        for key in ["kind", "type", "message"] {
            if let Some(w) = error.get(key)
                && got_error.get(key) != Some(w)
            {
                out.push(format!(
                    "error {key}: want {w}, got {:?}",
                    got_error.get(key)
                ));
            }
        }
        return out;
    }
    let Some(got) = got.get("message") else {
        return vec![format!("want a message, got {got}")];
    };
    let (want, got) = (drop_nulls(&want["message"]), drop_nulls(got));
    let mut fields: Vec<&str> = MESSAGE_FIELDS.to_vec();
    fields.extend(got.as_object().unwrap().keys().map(String::as_str));
    fields.sort_unstable();
    fields.dedup();
    for key in fields {
        if key == "usage" {
            continue;
        }
        if want.get(key) != got.get(key) {
            out.push(format!(
                "{key}:\n  want {}\n  got  {}",
                want.get(key).unwrap_or(&Value::Null),
                got.get(key).unwrap_or(&Value::Null)
            ));
        }
    }
    let (want_usage, got_usage) = (&want["usage"], &got["usage"]);
    let mut fields: Vec<&str> = USAGE_FIELDS.to_vec();
    if let Some(map) = got_usage.as_object() {
        fields.extend(map.keys().map(String::as_str));
    }
    fields.sort_unstable();
    fields.dedup();
    for key in fields {
        if want_usage.get(key) != got_usage.get(key) {
            out.push(format!(
                "usage.{key}: want {:?}, got {:?}",
                want_usage.get(key),
                got_usage.get(key)
            ));
        }
    }
    out
}

#[test]
fn every_fixture_gives_what_the_python_sdk_builds() {
    let cases = cases(&fixtures());
    assert!(cases.len() >= 70, "fixtures missing: {}", cases.len());
    let mut failures = Vec::new();
    for path in &cases {
        let expected = path.with_file_name(format!(
            "{}.expected.json",
            path.file_stem().unwrap().to_str().unwrap()
        ));
        let want: Value = serde_json::from_slice(&std::fs::read(&expected).unwrap()).unwrap();
        let diffs = differences(&want, &replay(path, &[]));
        if !diffs.is_empty() {
            failures.push(format!("{}:\n{}", path.display(), diffs.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn fnv1a(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The part of a result `shared.tsv` hashes (`projection` in make.py).
fn projection(result: &Value) -> Value {
    if let Some(error) = result.get("error") {
        return json!({"error": error["kind"]});
    }
    let message = drop_nulls(&result["message"]);
    let mut out = serde_json::Map::new();
    for key in MESSAGE_FIELDS {
        if let Some(v) = message.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    let usage: serde_json::Map<String, Value> = USAGE_FIELDS
        .iter()
        .filter_map(|k| Some((k.to_string(), message["usage"].get(*k)?.clone())))
        .collect();
    out.insert("usage".into(), Value::Object(usage));
    Value::Object(out)
}

/// Cases kept elsewhere whose tern result differs from the Python SDK's on purpose.
const KNOWN_DIFFERENT: [(&str, &str); 0] = [];

#[test]
fn the_original_cases_match_the_python_sdk_where_present() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/messages");
    if !shared.is_dir() {
        tern::term_eprintln!("no original cases here: skipped");
        return;
    }
    let table = std::fs::read_to_string(fixtures().join("shared.tsv")).unwrap();
    let (mut matched, mut total, mut unexpected) = (0, 0, Vec::new());
    let mut with_differences = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split('\t');
        let (name, want) = (fields.next().unwrap(), fields.next().unwrap());
        if fields.next().is_some_and(|notes| !notes.is_empty()) {
            with_differences += 1;
        }
        let path = shared.join(name);
        if !path.exists() {
            continue;
        }
        total += 1;
        let got = fnv1a(&projection(&replay(&path, &[])).to_string());
        if got == want {
            matched += 1;
        } else if !KNOWN_DIFFERENT.iter().any(|(case, _)| *case == name) {
            unexpected.push(name.to_owned());
        }
    }
    tern::term_eprintln!(
        "original cases: {matched} of {total} give the Python SDK's message \
         ({with_differences} through a documented difference, see shared.tsv)"
    );
    assert!(unexpected.is_empty(), "differ from the SDK: {unexpected:?}");
}

fn all_cases() -> Vec<PathBuf> {
    cases(&fixtures())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// How the bytes are split into reads changes nothing: same message, or same error.
    #[test]
    fn any_chunking_gives_the_same_result(
        case in 0usize..1000,
        cuts in proptest::collection::vec(0usize..20_000, 0..12),
    ) {
        let cases = all_cases();
        let path = &cases[case % cases.len()];
        let len = std::fs::metadata(path).unwrap().len() as usize;
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (len + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(replay(path, &cuts), replay(path, &[]), "{}", path.display());
    }
}

#[test]
fn byte_by_byte_gives_the_same_result_for_every_fixture() {
    for path in all_cases() {
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        let cuts: Vec<usize> = (1..len).collect();
        assert_eq!(
            replay(&path, &cuts),
            replay(&path, &[]),
            "{}",
            path.display()
        );
    }
}
