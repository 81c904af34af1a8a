//! Decode + accumulate throughput over a large recorded-style stream (≥ 5 MB of SSE).
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tern::api::EventDecoder;

/// A stream shaped like Anthropic's: message_start, a text block of many small deltas with pings,
/// message_delta, message_stop.
fn recorded_stream(target_bytes: usize) -> Vec<u8> {
    let mut out = String::new();
    out.push_str("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4.6\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n");
    out.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    let words = [
        "the ",
        "Arctic ",
        "tern ",
        "migrates ",
        "\\\"far\\\" ",
        "每年 ",
        "north, ",
        "and\\n",
        "`code` ",
        "south. ",
    ];
    let mut i = 0;
    while out.len() < target_bytes {
        let text: String = (0..3).map(|k| words[(i + k) % words.len()]).collect();
        out.push_str("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"");
        out.push_str(&text);
        out.push_str("\"}}\n\n");
        if i % 500 == 0 {
            out.push_str("event: ping\ndata: {\"type\": \"ping\"}\n\n");
        }
        i += 1;
    }
    out.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    );
    out.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n");
    out.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    out.into_bytes()
}

fn decode_and_accumulate(c: &mut Criterion) {
    let stream = recorded_stream(6 * 1024 * 1024);
    let mut group = c.benchmark_group("sse");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.sample_size(20);
    group.bench_function("decode_accumulate_6MB_16KB_chunks", |b| {
        b.iter(|| {
            let mut decoder = EventDecoder::new();
            let mut events = 0usize;
            for chunk in stream.chunks(16 * 1024) {
                decoder
                    .feed(black_box(chunk), &mut |_| events += 1)
                    .expect("valid stream");
            }
            let message = decoder.accumulator.finish().expect("complete");
            black_box((events, message))
        })
    });
    group.finish();
}

criterion_group!(benches, decode_and_accumulate);
criterion_main!(benches);
