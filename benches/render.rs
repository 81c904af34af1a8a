//! Rendering benchmarks: whole replies, one streaming delta, and syntax highlighting.
//!
//! Run with `cargo bench --bench render`. The streaming benches keep one stream alive and push
//! deltas in a cycle that closes the paragraph (or code block) now and then, so the tail stays
//! at a realistic size instead of growing with the number of iterations.
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tern::render::highlight::clear_block_cache;
use tern::render::{MarkdownStream, Theme, highlight_code, render_markdown};

const WIDTH: u16 = 100;

fn rust_block(lines: usize) -> String {
    let body = [
        "use std::collections::HashMap;",
        "",
        "/// A small cache keyed by message id.",
        "#[derive(Debug, Default)]",
        "pub struct Cache<'a> {",
        "    entries: HashMap<u64, Vec<&'a str>>,",
        "    hits: usize, // counts lookups that found something",
        "}",
        "",
        "impl<'a> Cache<'a> {",
        "    pub fn get(&mut self, id: u64) -> Option<&[&'a str]> {",
        "        let found = self.entries.get(&id).map(Vec::as_slice);",
        "        if found.is_some() {",
        "            self.hits += 1;",
        "        }",
        "        found",
        "    }",
        "",
        "    pub fn insert(&mut self, id: u64, text: &'a str) {",
        "        self.entries.entry(id).or_default().push(text);",
        "        println!(\"inserted {id} with {} bytes\", text.len());",
        "    }",
        "}",
    ];
    body.iter()
        .cycle()
        .take(lines)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A reply of about `target` bytes that looks like model output: headings, prose, lists,
/// quotes, tables, and fenced code in a few languages.
fn reply(target: usize) -> String {
    let mut s = String::new();
    let mut i = 0usize;
    while s.len() < target {
        i += 1;
        s.push_str(&format!("## Section {i}: what happens here\n\n"));
        s.push_str(
            "The renderer walks the **markdown events** once and produces lines that are already \
             wrapped to the width of the pane, so that drawing a frame only has to *slice* the \
             cached lines. Inline `code`, [links](https://example.com/docs/render) and \
             ~~mistakes~~ keep their styles across the line breaks.\n\n",
        );
        s.push_str(
            "1. **Parse** the text with pulldown-cmark.\n2. **Lay out** each block by display \
             width.\n   - nested lists keep a hanging indent\n   - so do quotes\n3. **Cache** the \
             result by width and theme.\n\n",
        );
        if i.is_multiple_of(2) {
            // Vary each block so the process-wide highlight cache cannot share them.
            s.push_str(&format!("```rust\n// section {i}\n"));
            s.push_str(&rust_block(24));
            s.push_str("```\n\n");
        } else {
            s.push_str(&format!(
                "```python\n# section {i}\ndef fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    \
                 a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\
                 print([fib(i) for i in range(10)])\n```\n\n",
            ));
        }
        s.push_str("> A quote that explains something important about the section above.\n\n");
        if i.is_multiple_of(3) {
            s.push_str(
                "| Option | Default | Meaning |\n|---|:-:|---|\n| width | 100 | columns to wrap at |\n\
                 | theme | dark | palette and code colours |\n| 中文 | 😀 | wide characters line up |\n\n",
            );
        }
    }
    s
}

fn bench_render(c: &mut Criterion) {
    let theme = Theme::default();
    let r10 = reply(10 * 1024);
    let r50 = reply(50 * 1024);
    // Load syntect outside the measurement.
    let _ = render_markdown(&r10, WIDTH, &theme);
    // Cold: code blocks are highlighted from scratch (first render of a message).
    c.bench_function("render_markdown 10KB w100 cold", |b| {
        b.iter(|| {
            clear_block_cache();
            render_markdown(black_box(&r10), WIDTH, &theme)
        })
    });
    c.bench_function("render_markdown 50KB w100 cold", |b| {
        b.iter(|| {
            clear_block_cache();
            render_markdown(black_box(&r50), WIDTH, &theme)
        })
    });
    // Warm: the same message again at another width (a resize); highlighting is cached.
    let _ = render_markdown(&r50, WIDTH, &theme);
    c.bench_function("render_markdown 10KB w100 warm", |b| {
        b.iter(|| render_markdown(black_box(&r10), WIDTH - 20, &theme))
    });
    c.bench_function("render_markdown 50KB w100 warm", |b| {
        b.iter(|| render_markdown(black_box(&r50), WIDTH - 20, &theme))
    });
}

fn bench_stream(c: &mut Criterion) {
    let theme = Theme::default();
    let base = reply(50 * 1024);

    // Prose: 50 KB committed, a paragraph in progress; each delta is one word, and every 60
    // words the paragraph ends.
    let mut stream = MarkdownStream::with_text(&base);
    stream.push("Streaming paragraph starts");
    let _ = stream.lines(WIDTH, &theme);
    let mut n = 0u64;
    c.bench_function("stream one delta, 50KB reply, paragraph tail", |b| {
        b.iter(|| {
            n += 1;
            if n.is_multiple_of(60) {
                stream.push(" end.\n\nNext paragraph");
            } else {
                stream.push(" word");
            }
            let (stable, tail) = stream.lines(WIDTH, &theme);
            black_box((stable.len(), tail.len()))
        })
    });

    // Code: 50 KB committed, a rust block in progress; each delta is a piece of a line, and the
    // block closes after 150 lines.
    let code = rust_block(150);
    let pieces: Vec<&str> = code.split_inclusive([' ', '\n']).collect();
    let mut stream = MarkdownStream::with_text(&base);
    stream.push("```rust\n");
    let _ = stream.lines(WIDTH, &theme);
    let mut i = 0usize;
    c.bench_function("stream one delta, 50KB reply, code block tail", |b| {
        b.iter(|| {
            if i == pieces.len() {
                i = 0;
                stream.push("```\n\n```rust\n");
            }
            stream.push(pieces[i]);
            i += 1;
            let (stable, tail) = stream.lines(WIDTH, &theme);
            black_box((stable.len(), tail.len()))
        })
    });
}

fn bench_highlight(c: &mut Criterion) {
    let theme = Theme::default();
    let code = rust_block(200);
    let _ = highlight_code(&code, "rust", &theme);
    c.bench_function("highlight_code rust 200 lines cold", |b| {
        b.iter(|| {
            clear_block_cache();
            highlight_code(black_box(&code), "rust", &theme)
        })
    });
}

criterion_group!(benches, bench_render, bench_stream, bench_highlight);
criterion_main!(benches);
