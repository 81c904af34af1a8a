//! What the benches share: a settings file of defaults, replies of realistic markdown, a
//! conversation of any length, and a compare in progress, so the criterion benches and the
//! instruction count measure the very same frames.
#![allow(dead_code)] // each bench binary uses part of it

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tern::api::{ContentBlock, Role, Usage};
use tern::app::{Action, ApiEvent, App, Effect, KeyMap, RequestId, Settings};
use tern::config::{Config, Overrides};
use tern::store::{Conversation, MessageStatus, StoredMessage};
use tern::ui::{ViewState, draw};

pub fn settings() -> Settings {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "").unwrap();
    let overrides = Overrides {
        config_file: Some(file),
        ..Default::default()
    };
    let config = Config::load_with(&overrides, &|_| None).unwrap();
    Settings::from_config(&config, KeyMap::default())
}

/// About 1 KB of markdown, with a code block every fourth reply.
pub fn body(i: usize) -> String {
    let mut text = format!(
        "## Reply {i}\n\nThe Arctic tern flies from pole to pole, **every** year; a `tern` weighs about 100 g. "
    );
    text.push_str(
        &"Terns hunt by hovering over the water and plunging after small fish. ".repeat(8),
    );
    if i.is_multiple_of(4) {
        text.push_str("\n\n```rust\nfn main() {\n    println!(\"tern {i}\");\n}\n```\n");
    }
    text.push_str("\n\n- one\n- two\n");
    text
}

pub fn conversation(messages: usize) -> App {
    conversation_with(messages, false)
}

/// `messages` messages; with `thinking`, each reply starts with a signed thinking block.
pub fn conversation_with(messages: usize, thinking: bool) -> App {
    let mut app = App::new(
        settings(),
        Instant::now(),
        tern::store::now_ms(),
        tern::app::Ids::seeded(1),
    );
    let conversation = Conversation::new("bench");
    let stored = (0..messages)
        .map(|i| {
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            StoredMessage {
                id: format!("m{i}"),
                conversation_id: conversation.id.clone(),
                seq: i as i64,
                parent_id: None,
                role,
                content: if thinking && role == Role::Assistant {
                    vec![
                        ContentBlock::Thinking {
                            thinking: "The user asks about terns; ".repeat(20),
                            signature: "EqQBCkgIARABGAIiQ".repeat(12),
                        },
                        ContentBlock::text(body(i)),
                    ]
                } else {
                    vec![ContentBlock::text(body(i))]
                },
                model: (role == Role::Assistant).then(|| "claude-sonnet-4.6".to_owned()),
                usage: Some(Usage {
                    input_tokens: 100,
                    output_tokens: 200,
                    ..Default::default()
                }),
                stop_reason: None,
                status: MessageStatus::Complete,
                error: None,
                response: None,
                created_at: 1_700_000_000_000,
                updated_at: 1_700_000_000_000,
            }
        })
        .collect();
    let _ = app.update(Action::OpenSaved {
        conversation,
        messages: stored,
    });
    app
}

/// The three models a compare bench asks.
pub const COMPARED: [&str; 3] = ["claude-haiku-4.5", "claude-opus-4.6", "claude-sonnet-4.5"];

/// A 200×50 screen with the first `models` of [`COMPARED`] asked at once (one model is a
/// plain reply, no compare), the first `streaming` of them 20 KB into their replies.
pub struct CompareRig {
    pub app: App,
    pub view: ViewState,
    pub terminal: Terminal<TestBackend>,
    requests: Vec<(String, RequestId)>,
    streaming: usize,
    frames: u64,
}

impl CompareRig {
    pub fn new(models: usize, streaming: usize) -> Self {
        let mut app = conversation(10);
        let press =
            |app: &mut App, code| app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        if models > 1 {
            for ch in format!("/compare {}", COMPARED[..models].join(" ")).chars() {
                let _ = press(&mut app, KeyCode::Char(ch));
            }
            let _ = press(&mut app, KeyCode::Enter);
        }
        let _ = press(&mut app, KeyCode::Char('q'));
        let requests: Vec<_> = press(&mut app, KeyCode::Enter)
            .into_iter()
            .filter_map(|e| match e {
                Effect::Send {
                    conversation,
                    request,
                    ..
                } => Some((conversation, request)),
                _ => None,
            })
            .collect();
        assert_eq!(requests.len(), models);
        let mut rig = Self {
            app,
            view: ViewState::new(tern::render::Theme::default(), time::UtcOffset::UTC),
            terminal: Terminal::new(TestBackend::new(200, 50)).unwrap(),
            requests,
            streaming,
            frames: 0,
        };
        for i in 0..streaming {
            let mut fed = 0;
            let mut k = 0;
            while fed < 20_000 {
                let chunk = body(k);
                fed += chunk.len();
                rig.send(i, &chunk);
                k += 1;
            }
        }
        rig.draw();
        rig
    }

    fn send(&mut self, column: usize, text: &str) {
        let (conversation, request) = self.requests[column].clone();
        let _ = self.app.update(Action::Api {
            conversation,
            request,
            event: ApiEvent::Text(text.to_owned()),
        });
    }

    fn draw(&mut self) {
        let (app, view) = (&self.app, &mut self.view);
        self.terminal.draw(|f| draw(app, view, f)).unwrap();
    }

    /// One delta to every streaming reply, then a frame; paragraphs of ~40 deltas, as
    /// replies have, so the unfinished tail stays realistic however many frames run.
    pub fn frame(&mut self) {
        self.frames += 1;
        let delta = if self.frames.is_multiple_of(40) {
            " end.\n\nNext "
        } else {
            " the tern dives"
        };
        for i in 0..self.streaming {
            self.send(i, std::hint::black_box(delta));
        }
        self.draw();
    }
}
