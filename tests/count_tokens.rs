//! Counting input tokens before sending (`POST /v1/messages/count_tokens`): the client against
//! the fake server (a count, an endpoint that is not there, a failure that says nothing of
//! the endpoint), and the app end to end: the fake hears the counts, and an endpoint without
//! it is asked once, ever, across runs sharing a store.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "common/session.rs"]
mod session;

use std::time::Duration;

use crossterm::event::KeyCode;
use serde_json::Value;
use tern::api::types::{MessageContent, SystemPrompt};
use tern::api::{
    ApiError, ApiKey, AuthScheme, Client, ClientConfig, MessagesRequest, RequestMessage,
};
use tern::app::{Action, App, COUNT_AFTER, Effect, Settings, Timer, TokenCount};
use tern::driver::Start;
use tern::fake::{FakeConfig, FakeServer};

use common::*;

fn client(server: &FakeServer) -> Client {
    Client::new(ClientConfig {
        base_url: server.base_url(),
        api_key: ApiKey::new("test-key"),
        auth: AuthScheme::Bearer,
        anthropic_version: "2023-06-01".into(),
        anthropic_beta: vec![],
        connect_timeout: Duration::from_secs(10),
        first_byte_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        max_retries: 2,
    })
    .unwrap()
}

/// A Messages request with every field count_tokens refuses set.
fn request(model: &str) -> MessagesRequest {
    MessagesRequest {
        model: model.into(),
        messages: vec![
            RequestMessage::user("one two three"),
            RequestMessage::assistant_blocks(vec![tern::api::ContentBlock::text("four five")]),
            RequestMessage {
                role: tern::api::Role::User,
                content: MessageContent::Text("six seven".into()),
            },
        ],
        system: Some(SystemPrompt::Text("be brief".into())),
        max_tokens: 1024,
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(5),
        stream: Some(true),
        stop_sequences: Some(vec!["END".into()]),
        metadata: Some(serde_json::json!({"user_id": "u1"})),
        service_tier: Some("auto".into()),
        ..Default::default()
    }
}

fn count_bodies(server: &FakeServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/messages/count_tokens")
        .map(|r| r.json().unwrap())
        .collect()
}

async fn fake(count_tokens_endpoint: bool) -> FakeServer {
    FakeServer::start(FakeConfig {
        count_tokens_endpoint,
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_client_counts_the_request_without_the_fields_the_endpoint_refuses() {
    let server = fake(true).await;
    let request = request(common::DEFAULT_MODEL);
    let counted = client(&server).count_tokens(&request).await.unwrap();
    // The fake counts a word a token: the system prompt and every turn.
    assert_eq!(counted, Some(9));
    let bodies = count_bodies(&server);
    assert_eq!(bodies.len(), 1, "one try");
    let body = bodies[0].as_object().unwrap();
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["messages", "model", "system"]);
}

#[tokio::test]
async fn an_endpoint_without_count_tokens_is_none() {
    let server = fake(false).await;
    let counted = client(&server)
        .count_tokens(&request(common::DEFAULT_MODEL))
        .await
        .unwrap();
    assert_eq!(counted, None);
    assert_eq!(count_bodies(&server).len(), 1, "one try, no retries");
}

#[tokio::test]
async fn an_unknown_model_is_an_error_not_a_missing_endpoint() {
    // The API answers an unknown model with a 404 `not_found_error` too: that says nothing of
    // the endpoint.
    let server = fake(true).await;
    let err = client(&server)
        .count_tokens(&request("no-such-model"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Status(e) if e.status == 404),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_error_is_an_error_without_retries() {
    // A listener that answers every request with a 500.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = vec![0; 65536];
            let _ = socket.read(&mut buf).await;
            let body = r#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#;
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let mut config = client(&fake(true).await).config().clone();
    config.base_url = url;
    let err = Client::new(config)
        .unwrap()
        .count_tokens(&request(common::DEFAULT_MODEL))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Status(e) if e.status == 500),
        "{err:?}"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_store_keeps_what_an_endpoint_lacks_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    let url = "http://gw.example";
    {
        let store = tern::store::Store::open(&path).unwrap();
        let fact = store.endpoint_fact(url, tern::store::NO_COUNT_TOKENS);
        assert_eq!(fact.unwrap(), None);
    }
    let writer = tern::store::StoreWriter::spawn(&path).unwrap();
    for value in ["present", "absent"] {
        writer
            .write(tern::store::WriteCommand::SetEndpointFact {
                base_url: url.into(),
                fact: tern::store::NO_COUNT_TOKENS.into(),
                value: value.into(),
                at_ms: 1,
            })
            .unwrap();
    }
    writer.flush().await.unwrap();
    drop(writer);
    let store = tern::store::Store::open(&path).unwrap();
    let fact = store.endpoint_fact(url, tern::store::NO_COUNT_TOKENS);
    assert_eq!(
        fact.unwrap().as_deref(),
        Some("absent"),
        "the last one wins"
    );
    let other = store.endpoint_fact("http://other", tern::store::NO_COUNT_TOKENS);
    assert_eq!(other.unwrap(), None, "per base URL");
}

// ─── The app: when it counts, and what it does with the count ───────────────────────────

/// The `CountTokens` timers `effects` ask for.
fn count_timers(effects: &[Effect]) -> Vec<Duration> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Schedule {
                timer: Timer::CountTokens,
                after,
            } => Some(*after),
            _ => None,
        })
        .collect()
}

/// The `CountTokens` effects in `effects`, as (generation, prompt, body).
fn counts(effects: &[Effect]) -> Vec<(u64, String, MessagesRequest)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::CountTokens {
                generation,
                prompt,
                body,
                ..
            } => Some((*generation, prompt.clone(), body.clone())),
            _ => None,
        })
        .collect()
}

/// The input has been still long enough: the timer fires; the one count it asks for.
#[track_caller]
fn still(app: &mut App) -> (u64, String, MessagesRequest) {
    let effects = app.update(Action::Timer(Timer::CountTokens));
    let mut all = counts(&effects);
    assert_eq!(all.len(), 1, "one count in {effects:#?}");
    all.remove(0)
}

fn counted(app: &mut App, generation: u64, prompt: &str, result: TokenCount) -> Vec<Effect> {
    let conversation = app.pane().id().to_owned();
    app.update(Action::TokensCounted {
        conversation,
        generation,
        prompt: prompt.to_owned(),
        result,
    })
}

/// The body as count_tokens gets it, without cache breakpoints (they take no tokens, and the
/// ones of a send sit on its new prompt; a lone text block marked is sent as a block, the
/// same text unmarked as a string).
fn as_counted(body: &MessagesRequest) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("cache_control");
                map.values_mut().for_each(strip);
                if let Some(Value::Array(blocks)) = map.get("content")
                    && let [block] = blocks.as_slice()
                    && block.as_object().is_some_and(|b| b.len() == 2)
                    && block["type"] == "text"
                {
                    let text = block["text"].clone();
                    map.insert("content".into(), text);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value =
        serde_json::from_slice(&tern::api::client::count_tokens_body(body).unwrap()).unwrap();
    strip(&mut value);
    value
}

/// The default settings with a small context window for the default model.
fn small_window(window: u64) -> Settings {
    let mut settings = settings(true);
    let spec = settings
        .models
        .iter_mut()
        .find(|m| m.id == DEFAULT_MODEL)
        .unwrap();
    spec.context_window = window;
    settings
}

#[test]
fn a_still_draft_is_counted_once_as_the_request_it_would_send() {
    let mut app = new_app();
    assert!(
        count_timers(&app.update(Action::Resize)).is_empty(),
        "nothing typed, no history: nothing to count"
    );
    // Each change moves the one timer: it fires once the input is still.
    for c in "hi there".chars() {
        let effects = app.update(key(KeyCode::Char(c)));
        assert_eq!(count_timers(&effects), [COUNT_AFTER], "{c:?}");
        assert!(
            counts(&effects).is_empty(),
            "nothing is counted while typing"
        );
    }
    assert!(
        count_timers(&app.update(Action::Resize)).is_empty(),
        "unchanged"
    );
    let (generation, prompt, body) = still(&mut app);
    assert_eq!(prompt, "hi there");
    let _ = counted(&mut app, generation, &prompt, TokenCount::Counted(7));
    // Counted: a timer left over asks nothing more.
    let effects = app.update(Action::Timer(Timer::CountTokens));
    assert!(counts(&effects).is_empty(), "{effects:#?}");

    // What was counted is what Enter sends.
    let (_, _, sent) = the_send(&app.update(key(KeyCode::Enter)));
    assert_eq!(as_counted(&body), as_counted(&sent));
}

#[test]
fn after_a_failed_reply_the_count_joins_the_prompts_as_the_send_does() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "first"));
    let effects = api(&mut app, request, failed(unauthorized()));
    // The history is counted again: the prompt, still unanswered.
    let after = counts(&effects);
    assert_eq!(after.len(), 1, "{effects:#?}");
    assert_eq!(
        session::request_history(&serde_json::to_value(&after[0].2).unwrap()).len(),
        1
    );
    type_str(&mut app, "second");
    let (_, prompt, body) = still(&mut app);
    assert_eq!(prompt, "second");
    let (_, _, sent) = the_send(&io(app.update(key(KeyCode::Enter))));
    assert_eq!(as_counted(&body), as_counted(&sent));
    assert_eq!(body.messages.len(), 1, "one user turn: first, then second");
}

#[test]
fn the_warning_uses_the_count_of_its_prompt_and_says_it_is_exact() {
    // 4,096 for the reply: a window of 5,000 leaves 904 for the input.
    let mut app = app_with(small_window(5_000), stored::T0);
    type_str(&mut app, "hi");
    let (generation, prompt, _) = still(&mut app);
    let _ = counted(&mut app, generation, &prompt, TokenCount::Counted(2_000));
    let effects = io(app.update(key(KeyCode::Enter)));
    assert!(sends(&effects).is_empty(), "held back: {effects:#?}");
    let oversize = app.pane().confirmed_oversize.clone().expect("a warning");
    assert_eq!((oversize.input, oversize.exact), (2_000, true));
    let said = oversize.describe("Enter");
    assert!(
        said.contains(" · 2.0k tokens + 4.1k for the reply"),
        "{said}"
    );
    // Enter again sends it anyway.
    let _ = the_send(&app.update(key(KeyCode::Enter)));

    // Without a count the estimate stands, and says so.
    let mut app = app_with(small_window(5_000), stored::T0);
    type_str(&mut app, &"word ".repeat(800));
    let effects = io(app.update(key(KeyCode::Enter)));
    assert!(sends(&effects).is_empty());
    let oversize = app.pane().confirmed_oversize.clone().expect("a warning");
    assert!(!oversize.exact);
    assert!(oversize.describe("Enter").contains(" · ~1.0k tokens"));
}

#[test]
fn a_count_for_another_draft_or_an_older_count_is_not_used() {
    let mut app = app_with(small_window(5_000), stored::T0);
    type_str(&mut app, "hi");
    let (first, _, _) = still(&mut app);
    type_str(&mut app, " you");
    let (second, prompt, _) = still(&mut app);
    assert_eq!(prompt, "hi you");
    assert!(second > first);
    // The first count answers late: it counted "hi", not what is typed now.
    let _ = counted(&mut app, first, "hi", TokenCount::Counted(2_000));
    assert_eq!(app.pane().token_counts.exact(app.pane(), "hi you"), None);
    assert_eq!(app.pane().token_counts.current(app.pane()), None);
    let (_, _, sent) = the_send(&io(app.update(key(KeyCode::Enter))));
    assert_eq!(sent.messages.len(), 1, "sent on the estimate, no warning");
}

#[test]
fn a_count_of_an_older_history_is_not_used() {
    let mut app = app_with(small_window(5_000), stored::T0);
    type_str(&mut app, "hi");
    let (generation, prompt, _) = still(&mut app);
    let (_, request, _) = the_send(&io(app.update(key(KeyCode::Enter))));
    assert!(
        count_timers(&app.update(key(KeyCode::Char('x')))).is_empty(),
        "no count while a reply streams"
    );
    let effects = reply(&mut app, request, "hello", usage(3, 1));
    // The reply ended: the history changed, it is counted again, with the draft.
    let after = counts(&effects);
    assert_eq!(after.len(), 1, "{effects:#?}");
    assert_eq!(after[0].1, "x");
    assert_eq!(after[0].2.messages.len(), 3);
    // The count of "hi" before the reply answers now: it counted another request.
    let _ = counted(&mut app, generation, &prompt, TokenCount::Counted(4_900));
    assert_eq!(app.pane().token_counts.current(app.pane()), None);
}

#[test]
fn a_history_ending_with_a_reply_is_not_counted() {
    // Enter never sends it (and the 4.6 models refuse one): the reply's usage sizes it.
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hi"));
    let effects = reply(&mut app, request, "hello", usage(3, 1));
    assert!(counts(&effects).is_empty(), "{effects:#?}");
    assert!(counts(&app.update(Action::Timer(Timer::CountTokens))).is_empty());
}

#[test]
fn an_endpoint_without_count_tokens_is_asked_no_more() {
    let mut app = new_app();
    type_str(&mut app, "hi");
    let (generation, prompt, _) = still(&mut app);
    let _ = counted(&mut app, generation, &prompt, TokenCount::Absent);
    assert!(app.count_tokens_absent);
    assert!(count_timers(&app.update(key(KeyCode::Char('!')))).is_empty());
    assert!(counts(&app.update(Action::Timer(Timer::CountTokens))).is_empty());
    let (_, request, _) = the_send(&io(app.update(key(KeyCode::Enter))));
    assert!(counts(&reply(&mut app, request, "hello", usage(3, 1))).is_empty());
}

#[test]
fn the_context_meter_shows_the_count() {
    let theme = tern::render::Theme::builtin("dark").unwrap();
    let mut view = tern::ui::ViewState::new(theme, time::UtcOffset::UTC);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 20)).unwrap();
    let mut app = app_with(small_window(10_000), stored::T0);
    let mut status = |app: &mut App| {
        view.sync(app);
        let frame = terminal
            .draw(|frame| tern::ui::draw(app, &mut view, frame))
            .unwrap();
        screen_text(frame.buffer).lines().last().unwrap().to_owned()
    };
    type_str(&mut app, "hi");
    let (generation, prompt, _) = still(&mut app);
    assert!(!status(&mut app).contains("ctx"), "nothing counted yet");
    let _ = counted(&mut app, generation, &prompt, TokenCount::Counted(5_000));
    let line = status(&mut app);
    assert!(line.contains("ctx 50% of 10.0k"), "{line}");
}

// ─── End to end: the real loop, the fake server, a store shared by two runs ─────────────

fn count_requests(server: &FakeServer) -> usize {
    count_bodies(server).len()
}

/// Wait (bounded, generously) until `server` has received `n` count_tokens requests.
async fn wait_for_counts(server: &FakeServer, n: usize) {
    let deadline = tokio::time::Instant::now() + session::WAIT;
    while count_requests(server) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {n} count_tokens requests"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_counts_its_next_request_with_the_endpoint() {
    let rig = session::Rig::new().await;
    let server = &rig.server;
    rig.run(Start::New, |mut user| async move {
        user.ask("hello tern").await;
        // A draft left still is counted as the next prompt.
        user.type_str("and now a second question");
        wait_for_counts(server, 1).await;
        user.ctrl('c'); // clear the draft, so quitting asks nothing
        session::quit(user)
    })
    .await;
    let bodies = count_bodies(server);
    let turns = |body: &Value| session::request_history(body);
    assert_eq!(bodies.len(), 1, "the history alone is not counted");
    let last = turns(&bodies[0]);
    assert_eq!(last.len(), 3);
    assert_eq!(last[2], ("user".into(), "and now a second question".into()));
    for body in &bodies {
        assert!(body.get("max_tokens").is_none() && body.get("stream").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_without_count_tokens_is_asked_once_across_runs() {
    let rig = session::Rig::with_fake(FakeConfig {
        count_tokens_endpoint: false,
        ..FakeConfig::default()
    })
    .await;
    let server = &rig.server;
    let absent = |app: &App| app.count_tokens_absent;
    let (_, first) = session::drive_then(
        rig.session(Start::New).unwrap(),
        |mut user| async move {
            user.ask("hello tern").await;
            user.type_str("a draft");
            wait_for_counts(server, 1).await;
            user.ctrl('c');
            // Told it is absent, the app asks no more; the store keeps it.
            user.ask("once more").await;
            session::quit(user)
        },
        absent,
    )
    .await;
    assert!(first, "the 404 said count_tokens is absent");
    let (_, second) = session::drive_then(
        rig.session(Start::Continue).unwrap(),
        |mut user| async move {
            user.ask("and again").await;
            user.ask("and again twice").await;
            session::quit(user)
        },
        absent,
    )
    .await;
    assert!(second, "the store said count_tokens is absent");
    assert_eq!(count_requests(server), 1, "asked once, ever");
    assert_eq!(rig.message_requests().len(), 4);
}
