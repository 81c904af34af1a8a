//! A headless `tern` for end-to-end tests: the real loop (`Session::run`) on a `TestBackend`,
//! keys fed through a channel, replies from the fake server on 127.0.0.1, saves into a temporary
//! store. Shared by `tests/harness.rs` and `tests/browser.rs`.
//!
//! Include it with `#[path = "common/session.rs"] mod session;` and run tests on a
//! multi-threaded runtime: `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`.
#![allow(dead_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tern::config::{Config, Overrides};
use tern::driver::{Input, Session, Start};
use tern::fake::{FakeConfig, FakeServer, RecordedRequest};
use tern::store::{Conversation, Store, StoredMessage};
use tokio::sync::{mpsc, watch};

pub use crate::common::screen_text;

/// How long a script waits for a screen before giving up (generous: nothing asserts on time).
pub const WAIT: Duration = Duration::from_secs(10);
pub const WIDTH: u16 = 150;
pub const HEIGHT: u16 = 40;

/// Terminal input from a channel; `$EDITOR` appends " (edited)".
pub struct ChannelInput {
    events: mpsc::UnboundedReceiver<io::Result<Event>>,
}

impl futures_util::Stream for ChannelInput {
    type Item = io::Result<Event>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

impl Input for ChannelInput {
    fn edit(&mut self, text: &str) -> Result<String, String> {
        Ok(format!("{text} (edited)\n"))
    }
}

/// The user's side of a running session: keys in, frames out.
pub struct User {
    keys: mpsc::UnboundedSender<io::Result<Event>>,
    frames: watch::Receiver<Buffer>,
    /// Every frame text the script looked at, in order.
    seen: Vec<String>,
}

impl User {
    pub fn press(&self, code: KeyCode, modifiers: KeyModifiers) {
        self.keys
            .send(Ok(Event::Key(KeyEvent::new(code, modifiers))))
            .expect("the session is running");
    }

    /// The mouse wheel, one notch (`up` or down).
    pub fn wheel(&self, up: bool) {
        let kind = if up {
            crossterm::event::MouseEventKind::ScrollUp
        } else {
            crossterm::event::MouseEventKind::ScrollDown
        };
        self.keys
            .send(Ok(Event::Mouse(crossterm::event::MouseEvent {
                kind,
                column: 10,
                row: 10,
                modifiers: KeyModifiers::NONE,
            })))
            .expect("the session is running");
    }

    pub fn key(&self, code: KeyCode) {
        self.press(code, KeyModifiers::NONE);
    }

    pub fn ctrl(&self, c: char) {
        self.press(KeyCode::Char(c), KeyModifiers::CONTROL);
    }

    pub fn alt(&self, code: KeyCode) {
        self.press(code, KeyModifiers::ALT);
    }

    pub fn paste(&self, text: &str) {
        self.keys
            .send(Ok(Event::Paste(text.to_owned())))
            .expect("the session is running");
    }

    pub fn type_str(&self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    pub fn send(&self, prompt: &str) {
        self.type_str(prompt);
        self.key(KeyCode::Enter);
    }

    /// Wait until a drawn frame satisfies `done`; that frame. Panics with the last frame after
    /// [`WAIT`].
    pub async fn wait_for_frame(&mut self, what: &str, done: impl Fn(&str) -> bool) -> Buffer {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let buffer = self.frames.borrow_and_update().clone();
            let text = screen_text(&buffer);
            self.seen.push(text.clone());
            if done(&text) {
                return buffer;
            }
            match tokio::time::timeout_at(deadline, self.frames.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => panic!("the session ended while waiting for {what}:\n{text}"),
                Err(_) => panic!("timed out waiting for {what}; last frame:\n{text}"),
            }
        }
    }

    /// Whether a frame was drawn since the script last looked at one.
    pub fn drew_since_last_look(&self) -> bool {
        self.frames.has_changed().unwrap_or(false)
    }

    /// The frame drawn last; its text.
    pub fn screen(&mut self) -> String {
        let text = screen_text(&self.frames.borrow_and_update());
        self.seen.push(text.clone());
        text
    }

    /// Wait until a drawn frame satisfies `done`; its text.
    pub async fn wait_for(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        screen_text(&self.wait_for_frame(what, done).await)
    }

    pub async fn wait_text(&mut self, needle: &str) -> String {
        self.wait_for(needle, |t| t.contains(needle)).await
    }

    /// Send `prompt` and wait until the reply is done and `needle` shows; that screen.
    pub async fn ask_until(&mut self, prompt: &str, needle: &str) -> String {
        self.send(prompt);
        self.wait_ready_with(needle).await
    }

    /// Send `prompt` and wait until the fake server's echo of it (which quotes the prompt) is
    /// done; that screen.
    pub async fn ask(&mut self, prompt: &str) -> String {
        self.ask_until(prompt, &format!("│ {prompt}")).await
    }

    /// Wait until the reply is done (the status bar says `ready`) and `needle` shows.
    pub async fn wait_ready_with(&mut self, needle: &str) -> String {
        self.wait_for(&format!("ready with {needle:?}"), |t| {
            status_line(t).contains("│ ready") && t.contains(needle)
        })
        .await
    }
}

/// The bottom row: the status bar.
pub fn status_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

/// A config pointing at `server`, with no user config file involved.
pub fn config(server: &FakeServer, dir: &Path) -> Config {
    config_at(server.base_url(), dir)
}

/// A config pointing at the endpoint `url`, with no user config file involved.
pub fn config_at(url: String, dir: &Path) -> Config {
    config_with(url, dir, "")
}

/// A config pointing at the endpoint `url`, its file holding `text`.
pub fn config_with(url: String, dir: &Path, text: &str) -> Config {
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    Config::load_with(
        &Overrides {
            config_file: Some(file),
            ..Overrides::default()
        },
        &|name| match name {
            "APIFREE_BASE_URL" => Some(url.clone()),
            "APIFREE_API_KEY" => Some("test-key".to_owned()),
            _ => None,
        },
    )
    .expect("the config loads")
}

/// A fake server and a temporary store that several sessions can share in turn.
pub struct Rig {
    pub server: FakeServer,
    dir: tempfile::TempDir,
    /// Where the store lives, when not in `dir` (see [`Rig::with_store_at`]).
    store: Option<PathBuf>,
    /// What the sessions' config file says (see [`Rig::with_config`]).
    config_text: String,
}

impl Rig {
    pub async fn new() -> Rig {
        Rig {
            server: FakeServer::start(FakeConfig::default())
                .await
                .expect("the fake server starts"),
            dir: tempfile::tempdir().unwrap(),
            store: None,
            config_text: String::new(),
        }
    }

    /// A rig whose fake server runs with `config`.
    pub async fn with_fake(config: FakeConfig) -> Rig {
        Rig {
            server: FakeServer::start(config)
                .await
                .expect("the fake server starts"),
            dir: tempfile::tempdir().unwrap(),
            store: None,
            config_text: String::new(),
        }
    }

    /// Sessions of this rig save into `path` (e.g. the store of a `tern` binary's home).
    pub fn with_store_at(mut self, path: PathBuf) -> Rig {
        self.store = Some(path);
        self
    }

    /// Sessions of this rig read `text` as their config file.
    pub fn with_config(mut self, text: &str) -> Rig {
        self.config_text = text.to_owned();
        self
    }

    pub fn store_path(&self) -> PathBuf {
        self.store
            .clone()
            .unwrap_or_else(|| self.dir.path().join("tern.db"))
    }

    /// A session on this rig's store, started as `start` asks.
    pub fn session(&self, start: Start) -> anyhow::Result<Session> {
        Session::new(
            config_with(self.server.base_url(), self.dir.path(), &self.config_text),
            start,
            time::UtcOffset::UTC,
            Some(self.store_path()),
        )
    }

    /// Run a session started as `start` while `script` plays the user; the script must end it
    /// (Ctrl+Q). The store is flushed before this returns. Returns every frame the script
    /// looked at.
    pub async fn run<F, Fut>(&self, start: Start, script: F) -> Vec<String>
    where
        F: FnOnce(User) -> Fut,
        Fut: std::future::Future<Output = User>,
    {
        drive(self.session(start).expect("the session starts"), script).await
    }

    /// The `POST /v1/messages` bodies the server received, in order.
    pub fn message_requests(&self) -> Vec<serde_json::Value> {
        message_bodies(&self.server)
    }

    pub fn store(&self) -> Store {
        Store::open(self.store_path()).expect("the store opens")
    }

    /// The most recently updated saved conversation, as stored.
    pub fn latest(&self) -> (Conversation, Vec<StoredMessage>) {
        let store = self.store();
        let id = store.most_recent().unwrap().expect("a saved conversation");
        store.load(&id).unwrap()
    }
}

/// Run `session` (built by the test, e.g. with its own config) while `script` plays the user;
/// the script must end it (Ctrl+Q). The store is flushed before this returns. Returns every
/// frame the script looked at.
pub async fn drive<F, Fut>(session: Session, script: F) -> Vec<String>
where
    F: FnOnce(User) -> Fut,
    Fut: std::future::Future<Output = User>,
{
    drive_then(session, script, |_| ()).await.0
}

/// [`drive`], and what `inspect` reads of the app once the loop has ended.
pub async fn drive_then<F, Fut, R>(
    mut session: Session,
    script: F,
    inspect: impl FnOnce(&tern::app::App) -> R,
) -> (Vec<String>, R)
where
    F: FnOnce(User) -> Fut,
    Fut: std::future::Future<Output = User>,
{
    let (frames_tx, frames) = watch::channel(Buffer::empty(Rect::new(0, 0, 0, 0)));
    session.frames = Some(frames_tx);
    let (keys, events) = mpsc::unbounded_channel();
    let mut input = ChannelInput { events };
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    let user = User {
        keys,
        frames,
        seen: Vec::new(),
    };
    // A script that ends without ending the session (a quit that asks first, say) fails here
    // with the last frame instead of hanging the run.
    let (result, user) = {
        let run = session.run(&mut terminal, &mut input);
        let script = script(user);
        tokio::pin!(run, script);
        tokio::select! {
            result = &mut run => (result, script.await),
            mut user = &mut script => match tokio::time::timeout(WAIT, &mut run).await {
                Ok(result) => (result, user),
                Err(_) => panic!(
                    "the script ended but the session did not; last frame:\n{}",
                    user.screen()
                ),
            },
        }
    };
    result.expect("the loop ends cleanly");
    let inspected = inspect(&session.app);
    session
        .shutdown()
        .await
        .expect("every save reached the disk");
    (user.seen, inspected)
}

/// The `POST /v1/messages` bodies `server` received, in order.
pub fn message_bodies(server: &FakeServer) -> Vec<serde_json::Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/messages")
        .map(|r: &RecordedRequest| r.json().expect("a JSON body"))
        .collect()
}

/// (role, text) of each message of a request body.
pub fn request_history(body: &serde_json::Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let text = match &m["content"] {
                serde_json::Value::String(s) => s.clone(),
                blocks => blocks
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b["text"].as_str())
                    .collect(),
            };
            (m["role"].as_str().unwrap_or("").to_owned(), text)
        })
        .collect()
}

/// Quit with Ctrl+Q and hand the user back (the last step of most scripts).
pub fn quit(user: User) -> User {
    user.ctrl('q');
    user
}
