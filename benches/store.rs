//! Store benchmarks on a realistic large history: 10,000 conversations, 200,000 messages
//! (~200 MB of text), one conversation with 1,000 messages.
//!
//! The database is generated once, through the public write path (batched: one transaction per
//! few thousand writes), and cached in Cargo's target tmp dir; delete
//! `target/tmp/tern-store-bench/` to rebuild it. Budgets: open + first page ≤ 50 ms,
//! search ≤ 30 ms, load of 1,000 messages ≤ 20 ms, a streaming snapshot upsert cheap enough to
//! run every second.
#![allow(clippy::disallowed_macros)] // benchmark reports, not outside text
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tern::api::types::{ContentBlock, Role, Usage};
use tern::store::{
    Conversation, MessageStatus, Params, Store, StoredMessage, WriteCommand, schema,
};

const CONVERSATIONS: usize = 10_000;
const MESSAGES: usize = 200_000;
const BIG: usize = 1_000;
const BIG_ID: &str = "b16b16b16b16b16b";
const MODELS: [&str; 4] = [
    "claude-sonnet-4.5",
    "claude-opus-4.6",
    "claude-haiku-4.5",
    "claude-sonnet-4.6",
];

/// Real words placed at chosen frequency ranks among ~20,000 synthetic ones, so word
/// frequencies follow Zipf's law as in real text: a few words are in almost every message,
/// most are rare. (rank, word); rank 1 is the most frequent.
const PLACED: &[(usize, &str)] = &[
    (1, "the"),
    (2, "to"),
    (3, "and"),
    (4, "a"),
    (5, "of"),
    (6, "is"),
    (7, "in"),
    (8, "it"),
    (9, "you"),
    (10, "that"),
    (11, "for"),
    (12, "this"),
    (13, "with"),
    (14, "can"),
    (15, "be"),
    (20, "use"),
    (25, "value"),
    (30, "function"),
    (35, "type"),
    (40, "error"),
    (45, "code"),
    (60, "data"),
    (70, "file"),
    (80, "return"),
    (90, "string"),
    (120, "example"),
    (150, "test"),
    (200, "struct"),
    (250, "trait"),
    (300, "borrow"),
    (350, "checker"),
    (400, "lifetime"),
    (450, "async"),
    (500, "thread"),
    (600, "tokio"),
    (700, "runtime"),
    (800, "channel"),
    (900, "request"),
    (1000, "server"),
    (1200, "parse"),
    (1400, "json"),
    (1600, "serde"),
    (1800, "migration"),
    (2000, "schema"),
    (2500, "transaction"),
    (3000, "terminal"),
    (3500, "widget"),
    (4000, "grapheme"),
    (5000, "albatross"),
    (6000, "puffin"),
    (7000, "cormorant"),
    (8000, "migratory"),
    (9000, "kittiwake"),
    (10_000, "café"),
    (11_000, "crème"),
    (12_000, "brûlée"),
    (13_000, "Zürich"),
    (14_000, "東京"),
    (15_000, "naïve"),
];
const VOCABULARY: usize = 20_000;

struct Words {
    words: Vec<String>,
    /// Cumulative Zipf weights, for sampling by binary search.
    cumulative: Vec<f64>,
}

impl Words {
    fn new() -> Words {
        const ONSETS: &[&str] = &[
            "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
            "br", "cl", "dr", "gr", "pl", "st", "tr", "sh", "ch", "th",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"];
        const CODAS: &[&str] = &["", "n", "r", "s", "t", "l", "m", "nd", "st", "ck"];
        let mut rng = SmallRng::seed_from_u64(7);
        let mut seen = std::collections::HashSet::new();
        let mut synthetic = Vec::new();
        while synthetic.len() < VOCABULARY {
            let mut w = String::new();
            for _ in 0..rng.random_range(2..=3) {
                w.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
                w.push_str(VOWELS[rng.random_range(0..VOWELS.len())]);
            }
            w.push_str(CODAS[rng.random_range(0..CODAS.len())]);
            if PLACED.iter().all(|(_, p)| *p != w) && seen.insert(w.clone()) {
                synthetic.push(w);
            }
        }
        let mut synthetic = synthetic.into_iter();
        let mut words = Vec::with_capacity(VOCABULARY + PLACED.len());
        for rank in 1..=VOCABULARY + PLACED.len() {
            match PLACED.iter().find(|(r, _)| *r == rank) {
                Some((_, w)) => words.push((*w).to_owned()),
                None => words.push(synthetic.next().unwrap()),
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Words { words, cumulative }
    }

    fn pick(&self, rng: &mut SmallRng) -> &str {
        let x = rng.random::<f64>() * self.cumulative[self.cumulative.len() - 1];
        let i = self.cumulative.partition_point(|&c| c < x);
        &self.words[i.min(self.words.len() - 1)]
    }
}

fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(Words::new)
}

fn sentence(rng: &mut SmallRng, out: &mut String) {
    let n = rng.random_range(6..18);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(words().pick(rng));
    }
    out.push_str(". ");
}

/// About `bytes` of text: paragraphs, sometimes a code block.
fn text(rng: &mut SmallRng, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 200);
    while out.len() < bytes {
        if rng.random_ratio(1, 12) {
            out.push_str("\n\n```rust\nfn example(x: &str) -> Result<usize, Error> {\n    Ok(x.len())\n}\n```\n\n");
        }
        sentence(rng, &mut out);
        if rng.random_ratio(1, 5) {
            out.push_str("\n\n");
        }
    }
    out
}

fn message(rng: &mut SmallRng, conv: &str, seq: usize, at: i64, model: &str) -> StoredMessage {
    let role = if seq.is_multiple_of(2) {
        Role::User
    } else {
        Role::Assistant
    };
    // Users write short prompts, replies are longer: ~1 KB on average.
    let size = match role {
        Role::User => rng.random_range(60..400),
        Role::Assistant => rng.random_range(600..3000),
    };
    let mut body = text(rng, size);
    if rng.random_ratio(1, 2000) {
        body.push_str(" quokka");
    }
    StoredMessage {
        id: format!("{conv}{seq:05}"),
        conversation_id: conv.to_owned(),
        seq: seq as i64,
        parent_id: seq.checked_sub(1).map(|p| format!("{conv}{p:05}")),
        role,
        content: vec![ContentBlock::text(body)],
        model: (role == Role::Assistant).then(|| model.to_owned()),
        usage: (role == Role::Assistant).then(|| Usage {
            input_tokens: rng.random_range(10..5000),
            output_tokens: rng.random_range(10..1500),
            cache_creation_input_tokens: None,
            cache_read_input_tokens: Some(rng.random_range(0..4000)),
            ..Usage::default()
        }),
        stop_reason: (role == Role::Assistant).then(|| "end_turn".to_owned()),
        status: MessageStatus::Complete,
        error: None,
        response: None,
        created_at: at + seq as i64 * 30_000,
        updated_at: at + seq as i64 * 30_000,
    }
}

fn generate(path: &PathBuf) {
    let started = Instant::now();
    let mut store = Store::open(path).unwrap();
    let mut rng = SmallRng::seed_from_u64(0x7e2a);
    let start_ms = 1_650_000_000_000i64;
    let rest = MESSAGES - BIG;
    let per = rest / (CONVERSATIONS - 1);
    let extra = rest - per * (CONVERSATIONS - 1);
    let mut batch = Vec::with_capacity(5_000);
    let mut bytes = 0usize;
    for c in 0..CONVERSATIONS {
        let id = if c == 0 {
            BIG_ID.to_owned()
        } else {
            format!("{:016x}", rng.random::<u64>())
        };
        let count = if c == 0 {
            BIG
        } else if c <= extra {
            per + 1
        } else {
            per
        };
        let at = start_ms + c as i64 * 6_000_000;
        let model = MODELS[c % MODELS.len()];
        let title = text(&mut rng, 30).chars().take(50).collect::<String>();
        batch.push(WriteCommand::CreateConversation(Conversation {
            id: id.clone(),
            title,
            created_at: at,
            updated_at: at,
            system: None,
            params: Params::default(),
            last_model: None,
            active_leaf: None,
        }));
        for seq in 0..count {
            let m = message(&mut rng, &id, seq, at, model);
            if let ContentBlock::Text { text, .. } = &m.content[0] {
                bytes += text.len();
            }
            batch.push(WriteCommand::UpsertMessage(m));
            if batch.len() >= 5_000 {
                let failed = store.apply_batch(&batch).unwrap();
                assert!(failed.is_empty(), "{:?}", failed[0].1);
                batch.clear();
            }
        }
    }
    let failed = store.apply_batch(&batch).unwrap();
    assert!(failed.is_empty());
    assert_eq!(store.count().unwrap(), CONVERSATIONS as u64);
    drop(store);
    let size = std::fs::metadata(path).unwrap().len();
    eprintln!(
        "generated {CONVERSATIONS} conversations / {MESSAGES} messages, {:.0} MB of text, \
         database {:.0} MB, in {:.1} s",
        bytes as f64 / 1e6,
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

fn bench_db() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tern-store-bench");
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!(
            "v{}-{CONVERSATIONS}-{MESSAGES}-zipf",
            schema::CURRENT_VERSION
        );
        let path = dir.join(format!("{name}.db"));
        let done = dir.join(format!("{name}.done"));
        if !done.exists() {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            generate(&path);
            std::fs::write(&done, b"").unwrap();
        }
        path
    })
}

fn open_and_list(c: &mut Criterion) {
    let path = bench_db();
    c.bench_function("open + list(0, 50)", |b| {
        b.iter(|| {
            let store = Store::open(path).unwrap();
            let page = store.list(0, 50).unwrap();
            assert_eq!(page.len(), 50);
            page
        })
    });
    let store = Store::open(path).unwrap();
    c.bench_function("list(5000, 50) on an open store", |b| {
        b.iter(|| store.list(5_000, 50).unwrap())
    });
    c.bench_function("resolve(4-char prefix)", |b| {
        b.iter(|| store.resolve("b16b").unwrap())
    });
}

fn search(c: &mut Criterion) {
    let store = Store::open(bench_db()).unwrap();
    // From a rare word to the most common one (the worst case: every message matches).
    for query in [
        "quokka",
        "albatross",
        "tokio runtime",
        "borrow checker lifetime",
        "mig",
        "serde json",
        "the",
    ] {
        let all = store.search(query, usize::MAX).unwrap().len();
        eprintln!("search {query:?}: {all} matching messages");
        c.bench_function(&format!("search({query:?}, 50)"), |b| {
            b.iter(|| store.search(query, 50).unwrap())
        });
    }
    c.bench_function("search_conversations(\"tokio runtime\", 50)", |b| {
        b.iter(|| store.search_conversations("tokio runtime", 50).unwrap())
    });
}

fn load(c: &mut Criterion) {
    let store = Store::open(bench_db()).unwrap();
    c.bench_function("load(1,000-message conversation)", |b| {
        b.iter(|| {
            let (_, messages) = store.load(BIG_ID).unwrap();
            assert_eq!(messages.len(), BIG);
            messages
        })
    });
}

fn upsert(c: &mut Criterion) {
    let mut store = Store::open(bench_db()).unwrap();
    let mut rng = SmallRng::seed_from_u64(1);
    // A conversation per size: a second reply to the same question would be a branch the
    // write path refuses to start behind the back of the first.
    for (label, size, id) in [
        ("100 KB", 100_000, "5eed5eed5eed5eed"),
        ("1 MB", 1_000_000, "5eed5eed5eed5ee1"),
    ] {
        let _ = store.delete_conversation(id);
        store
            .create_conversation(&Conversation {
                id: id.into(),
                title: "streaming bench".into(),
                created_at: 0,
                updated_at: 0,
                system: None,
                params: Params::default(),
                last_model: None,
                active_leaf: None,
            })
            .unwrap();
        let question = message(&mut rng, id, 0, 0, MODELS[0]);
        store.upsert_message(&question).unwrap();
        let base = text(&mut rng, size);
        let mut reply = StoredMessage::assistant_streaming(id, 1, MODELS[0]);
        reply.parent_id = Some(question.id.clone());
        let mut step = 0usize;
        c.bench_function(
            &format!("upsert streaming snapshot ({label}, growing)"),
            |b| {
                b.iter_batched(
                    || {
                        // The snapshot grows by a sentence per second of streaming.
                        step += 1;
                        let end = (base.len() - 2_000 + (step * 97) % 2_000).min(base.len());
                        let end = (0..=end)
                            .rev()
                            .find(|&i| base.is_char_boundary(i))
                            .unwrap_or(0);
                        reply.content = vec![ContentBlock::text(&base[..end])];
                        reply.updated_at += 1;
                        reply.clone()
                    },
                    |m| store.upsert_message(&m).unwrap(),
                    BatchSize::SmallInput,
                )
            },
        );
        // The final write of a reply indexes its text (and un-indexes the previous final text).
        let mut flip = false;
        c.bench_function(
            &format!("upsert complete reply ({label}, re-indexed)"),
            |b| {
                b.iter_batched(
                    || {
                        flip = !flip;
                        let mut m = reply.clone();
                        m.status = MessageStatus::Complete;
                        let cut = if flip {
                            base.len() - 10
                        } else {
                            base.len() - 20
                        };
                        let cut = (0..=cut)
                            .rev()
                            .find(|&i| base.is_char_boundary(i))
                            .unwrap_or(0);
                        m.content = vec![ContentBlock::text(&base[..cut])];
                        m
                    },
                    |m| store.upsert_message(&m).unwrap(),
                    BatchSize::SmallInput,
                )
            },
        );
        store.delete_conversation(id).unwrap();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = open_and_list, search, load, upsert
}
criterion_main!(benches);
