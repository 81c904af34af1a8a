//! The decoder and accumulator on recorded and hand-made streams: each SDK behaviour the
//! accumulator copies or improves on, one test each. Replays of whole fixtures are in
//! `tests/replay.rs`.

use super::*;
use serde_json::json;

const RECORDED: &str = concat!(
    "event: message_start\n",
    "data: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-sonnet-4.6\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": 1, \"cache_read_input_tokens\": 3}}}\n\n",
    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm \"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"ok\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0 }\n\n",
    "event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello \\u4e2d\"}}\n\n",
    ": keep-alive\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"SF\\\"}\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
    "event: brand_new_event\ndata: {\"type\":\"brand_new_event\",\"x\":1}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15,\"input_tokens\":null}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

fn decode(chunks: &[&[u8]]) -> Result<Message, ApiError> {
    let mut decoder = EventDecoder::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut |_| {})?;
    }
    decoder.accumulator.finish()
}

fn expected() -> Message {
    Message {
        id: "msg_1".into(),
        kind: "message".into(),
        role: crate::api::types::Role::Assistant,
        content: vec![
            ContentBlock::Thinking {
                thinking: "hmm ok".into(),
                signature: "sig".into(),
            },
            ContentBlock::text("Hello 中 world"),
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"location": "SF"}),
                extra: Default::default(),
            },
        ],
        model: "claude-sonnet-4.6".into(),
        stop_reason: Some("tool_use".into()),
        stop_sequence: None,
        usage: Usage {
            input_tokens: 25,
            output_tokens: 15,
            cache_creation_input_tokens: None,
            cache_read_input_tokens: Some(3),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn recorded_stream_accumulates_like_the_sdk() {
    assert_eq!(decode(&[RECORDED.as_bytes()]).unwrap(), expected());
}

#[test]
fn every_split_point_gives_the_same_message() {
    let bytes = RECORDED.as_bytes();
    let want = expected();
    for split in 0..=bytes.len() {
        let got = decode(&[&bytes[..split], &bytes[split..]]).unwrap();
        assert_eq!(got, want, "split at {split}");
    }
}

#[test]
fn byte_by_byte_gives_the_same_message() {
    let chunks: Vec<&[u8]> = RECORDED.as_bytes().chunks(1).collect();
    assert_eq!(decode(&chunks).unwrap(), expected());
}

#[test]
fn missing_event_lines_dispatch_on_json_type() {
    let stripped: String = RECORDED
        .lines()
        .filter(|l| !l.starts_with("event:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(decode(&[stripped.as_bytes()]).unwrap(), expected());
}

#[test]
fn eof_without_message_stop_is_truncated() {
    let cut = RECORDED.find("event: message_stop").unwrap();
    let err = decode(&[&RECORDED.as_bytes()[..cut]]).unwrap_err();
    assert!(matches!(err, ApiError::Truncated { .. }), "{err:?}");
}

#[test]
fn a_last_event_without_its_blank_line_ends_the_reply_if_whole() {
    let whole = RECORDED.trim_end();
    let mut decoder = EventDecoder::new();
    decoder.feed(whole.as_bytes(), &mut |_| {}).unwrap();
    assert!(!decoder.accumulator.is_complete());
    decoder.finish(&mut |_| {}).unwrap();
    assert_eq!(decoder.accumulator.finish().unwrap(), expected());

    let cut = &whole[..whole.len() - 3];
    let mut decoder = EventDecoder::new();
    decoder.feed(cut.as_bytes(), &mut |_| {}).unwrap();
    decoder.finish(&mut |_| {}).unwrap();
    let err = decoder.accumulator.finish().unwrap_err();
    assert!(matches!(err, ApiError::Truncated { .. }), "{err:?}");
}

#[test]
fn midstream_error_event_is_an_error() {
    let text = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
        "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
    );
    let err = decode(&[text.as_bytes()]).unwrap_err();
    match err {
        ApiError::Stream {
            error_type,
            message,
            ..
        } => {
            assert_eq!(error_type, "overloaded_error");
            assert_eq!(message, "Overloaded");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn named_event_with_empty_data_is_skipped() {
    assert_eq!(parse_event(Some("ping"), b"  ").unwrap(), None);
}

#[test]
fn event_name_is_the_fallback_type() {
    let ev = parse_event(Some("message_stop"), b"{}").unwrap();
    assert_eq!(ev, Some(StreamEvent::MessageStop));
}

#[test]
fn usage_is_overwritten_never_added() {
    let mut acc = Accumulator::new();
    for data in [
        r#"{"type":"message_start","message":{"id":"m","model":"x","content":[],"usage":{"input_tokens":0,"output_tokens":0}}}"#,
        r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":5,"input_tokens":40}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#,
    ] {
        let ev = parse_event(None, data.as_bytes()).unwrap().unwrap();
        acc.apply(&ev).unwrap();
    }
    let u = acc.usage();
    assert_eq!((u.input_tokens, u.output_tokens), (40, 9));
}

fn message_start(content: &str) -> String {
    format!(
        "data: {{\"type\":\"message_start\",\"message\":{{\"id\":\"m\",\"model\":\"x\",\"content\":{content},\"usage\":{{\"input_tokens\":1,\"output_tokens\":1}}}}}}\n\n"
    )
}

fn end(stop: &str) -> String {
    format!(
        "data: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{stop}\"}},\"usage\":{{\"output_tokens\":3}}}}\n\ndata: {{\"type\":\"message_stop\"}}\n\n"
    )
}

#[test]
fn tool_use_keeps_its_start_input_and_unknown_fields() {
    let text = message_start("[]")
        + "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{\"q\":\"x\"},\"caller\":{\"type\":\"code_execution_20250825\",\"tool_id\":\"s\"}}}\n\n"
        + "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        + &end("tool_use");
    let got = decode(&[text.as_bytes()]).unwrap();
    assert_eq!(
        serde_json::to_value(&got.content[0]).unwrap(),
        json!({"type":"tool_use","id":"t","name":"n","input":{"q":"x"},
            "caller":{"type":"code_execution_20250825","tool_id":"s"}})
    );
}

fn tool_stream(fragments: &[&str], stop: &str) -> String {
    let mut text = message_start("[]")
        + "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"make_file\",\"input\":{}}}\n\n";
    for f in fragments {
        let delta = json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":f}});
        text += &format!("data: {delta}\n\n");
    }
    text + &end(stop)
}

#[test]
fn max_tokens_inside_tool_input_keeps_the_partial_input() {
    let text = tool_stream(
        &[
            "",
            "{\"name\": \"a.txt",
            "\", \"lines\": [\"one\",",
            " \"tw",
        ],
        "max_tokens",
    );
    let got = decode(&[text.as_bytes()]).unwrap();
    let ContentBlock::ToolUse { input, .. } = &got.content[0] else {
        panic!("{got:?}")
    };
    assert_eq!(input, &json!({"name": "a.txt", "lines": ["one"]}));
}

#[test]
fn invalid_tool_json_at_a_normal_end_is_an_error() {
    let text = tool_stream(&["{\"unit\": ", "celsius}"], "tool_use");
    let err = decode(&[text.as_bytes()]).unwrap_err();
    assert!(
        matches!(&err, ApiError::Protocol(m) if m.contains("make_file") && m.contains("not valid JSON")),
        "{err:?}"
    );
}

#[test]
fn a_second_message_start_keeps_the_reply() {
    let text = message_start("[]")
        + "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        + &message_start("[]")
        + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n"
        + &end("end_turn");
    assert_eq!(decode(&[text.as_bytes()]).unwrap().text(), "Hi there");
}

#[test]
fn unknown_delta_is_kept_on_its_block() {
    let text = message_start("[]")
        + "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"compaction\",\"content\":null}}\n\n"
        + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"compaction_delta\",\"content\":\"Summary \",\"encrypted_content\":\"E1\"}}\n\n"
        + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"compaction_delta\",\"content\":\"so far.\"}}\n\n"
        + &end("end_turn");
    let got = decode(&[text.as_bytes()]).unwrap();
    assert_eq!(
        serde_json::to_value(&got.content[0]).unwrap(),
        json!({"type":"compaction","content":"Summary so far.","encrypted_content":"E1"})
    );
}

#[test]
fn bare_data_error_is_an_error_with_its_message() {
    let text = message_start("[]")
        + "data: {\"error\":{\"code\":502,\"message\":\"Provider returned error\"}}\n\n";
    let err = decode(&[text.as_bytes()]).unwrap_err();
    match err {
        ApiError::Stream {
            error_type,
            message,
            ..
        } => {
            assert_eq!(message, "Provider returned error");
            assert_eq!(error_type, "error 502");
        }
        other => panic!("unexpected {other:?}"),
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let _ = decode(&[&bytes]);
    }

    #[test]
    fn mutated_recorded_stream_never_panics(pos in 0usize..3000, byte in proptest::prelude::any::<u8>()) {
        let mut bytes = RECORDED.as_bytes().to_vec();
        let pos = pos % bytes.len();
        bytes[pos] = byte;
        let _ = decode(&[&bytes]);
    }
}

#[test]
fn the_text_delta_fast_path_reads_what_the_general_parser_reads() {
    let same = |data: &str| {
        let fast = text_delta(data.as_bytes());
        let general = parse_any_event(None, data.as_bytes()).ok().flatten();
        assert!(fast.is_some(), "not taken: {data}");
        assert_eq!(fast, general, "{data}");
    };
    same(
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
    );
    same(
        r#"{"type": "content_block_delta", "index": 12, "delta": {"type": "text_delta", "text": "a \"quoted\" \\ \n 中 \u4e2d"}}"#,
    );
    same(r#" {"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":""}} "#);
    // Anything else goes the general way (which may accept it, or say what is wrong).
    for other in [
        r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"},"index":0}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","extra":1}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}x"#,
        r#"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x\"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","text":"x"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\ud800"}}"#,
    ] {
        assert_eq!(text_delta(other.as_bytes()), None, "{other}");
    }
}

proptest::proptest! {
    #[test]
    fn any_text_takes_the_fast_path_to_the_same_event(text in ".*", index in 0usize..1000, spaced in proptest::prelude::any::<bool>()) {
        let sep = if spaced { " " } else { "" };
        let data = format!(
            "{{\"type\":{sep}\"content_block_delta\",{sep}\"index\":{sep}{index},{sep}\"delta\":{sep}{{\"type\":{sep}\"text_delta\",{sep}\"text\":{sep}{}}}}}",
            serde_json::to_string(&text).unwrap()
        );
        let fast = text_delta(data.as_bytes());
        proptest::prop_assert_eq!(
            fast,
            Some(StreamEvent::BlockDelta { index, delta: Delta::Text(text) })
        );
    }
}
