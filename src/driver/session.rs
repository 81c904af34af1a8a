//! A session: the app, its view and the driver, built from the config and ready to run on any
//! terminal backend (the real terminal, or a `TestBackend` in the end-to-end tests).
//!
//! Building it opens the store writer (a read-only or missing store is said once, and the app
//! runs without saving), opens the conversation asked for at start, and asks the endpoint for
//! its models. [`Session::shutdown`] stops streams and waits, bounded, for the saves.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use super::Start;
use super::effects::{ClientCell, Driver, open_saved};
use super::input::Input;
use super::terminal::Resizable;
use super::timers::Timers;
use crate::app::{Action, App, Effect, Ids, Notice, Settings};
use crate::config::Config;
use crate::store::{Store, StoreError, StoreWriter, WriteFailure};
use crate::ui::ViewState;

/// How long [`Session::shutdown`] waits for queued saves.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(5);

/// The app, its view, and the driver, ready to run on any terminal backend.
pub struct Session {
    pub app: App,
    pub view: ViewState,
    pub(super) driver: Driver,
    pub(super) rx: mpsc::UnboundedReceiver<Action>,
    /// The wake-ups the app asked for.
    pub(super) timers: Timers,
    /// What the terminal shows, and the drawing that updates it.
    pub(super) screen: super::screen::Screen,
    /// Each drawn frame is published here when set (for tests and tools).
    pub frames: Option<tokio::sync::watch::Sender<ratatui::buffer::Buffer>>,
}

impl Session {
    /// Build the session; `store_path: None` means "do not save" (with a visible note).
    pub fn new(
        config: Config,
        start: Start,
        utc_offset: time::UtcOffset,
        store_path: Option<PathBuf>,
    ) -> anyhow::Result<Session> {
        let keymap = crate::app::KeyMap::with_overrides(&config.keys)
            .map_err(|e| anyhow::anyhow!("config: {e}"))?;
        let theme_dir =
            crate::config::default_config_path().and_then(|p| p.parent().map(|d| d.join("themes")));
        let theme = crate::render::Theme::load(&config.theme, theme_dir.as_deref())?;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut app = App::new(
            Settings::from_config(&config, keymap),
            tokio::time::Instant::now().into_std(),
            crate::store::now_ms(),
            Ids::seeded(rand::random()),
        );
        let mut at_start = Vec::new();
        let writer = open_writer(store_path.as_deref(), &tx, &mut app, &mut at_start);
        at_start.extend(open_at_start(&start, store_path.as_deref())?);
        let mut effects = Vec::new();
        for action in at_start {
            effects.extend(app.update(action));
        }
        if let Some(warning) = config.cleartext_notice() {
            effects.extend(app.update(Action::Notify(Notice::error(warning))));
        }
        // Settings the configuration drops (an `extra_body` key naming a field tern sets).
        for warning in config.request_warnings() {
            effects.extend(app.update(Action::Notify(Notice::error(warning.clone()))));
        }
        let has_key = config.has_key();
        let mcp = crate::mcp::Mcp::new(config.tools.servers.clone());
        let driver = Driver {
            tx,
            client: Arc::new(ClientCell::new(config)),
            writer,
            store_path,
            reader: None,
            requests: Default::default(),
            count_gate: Default::default(),
            mcp,
            tool_calls: Default::default(),
            attachment_bytes: Default::default(),
        };
        if has_key {
            driver.fetch_models();
            driver.recall_count_tokens();
        }
        driver.start_eager_tools();
        let mut session = Session {
            app,
            view: ViewState::new(theme, utc_offset),
            driver,
            rx,
            timers: Timers::default(),
            screen: super::screen::Screen::default(),
            frames: None,
        };
        // What opening asked for (a save, a notice's expiry): the loop is not running yet.
        for effect in effects {
            match effect {
                Effect::Quit | Effect::Editor(_) => {}
                Effect::Schedule { timer, after } => session.timers.schedule(timer, after),
                other => session.driver.run(other),
            }
        }
        session.view.sync(&mut session.app);
        Ok(session)
    }

    /// The terminal shows images: the view draws thumbnails, and the app asks for them.
    pub fn thumbnails_on(&mut self, thumbnails: crate::ui::Thumbnails) {
        self.view.thumbnails = Some(thumbnails);
        for effect in self.app.update(Action::ThumbnailsOn) {
            match effect {
                Effect::Quit | Effect::Editor(_) => {}
                Effect::Schedule { timer, after } => self.timers.schedule(timer, after),
                other => self.driver.run(other),
            }
        }
    }

    /// Run until the user quits.
    pub async fn run<B: Backend + Resizable, I: Input>(
        &mut self,
        terminal: &mut Terminal<B>,
        input: &mut I,
    ) -> anyhow::Result<()>
    where
        B::Error: Send + Sync + 'static,
    {
        super::event_loop::event_loop(self, terminal, input).await
    }

    /// Stop streams, tool calls and MCP servers, and wait (bounded) for every save to reach
    /// the disk.
    pub async fn shutdown(mut self) -> Result<(), StoreError> {
        for (_, task) in self.driver.requests.drain() {
            task.abort();
        }
        for (_, task) in self.driver.tool_calls.drain() {
            task.abort();
        }
        let _ = tokio::time::timeout(SHUTDOWN_FLUSH, self.driver.mcp.shutdown()).await;
        match &self.driver.writer {
            Some(writer) => tokio::time::timeout(SHUTDOWN_FLUSH, writer.flush())
                .await
                .unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

/// The store's writer, its failures reported to the app as actions; `None` (and the reason on
/// the app's welcome screen, and for a read-only store a notice in `at_start`) when there is
/// nothing to save into.
fn open_writer(
    store_path: Option<&Path>,
    tx: &mpsc::UnboundedSender<Action>,
    app: &mut App,
    at_start: &mut Vec<Action>,
) -> Option<StoreWriter> {
    let Some(path) = store_path else {
        app.store_problem = Some("conversations are not being saved: no data directory".into());
        return None;
    };
    let errors = tx.clone();
    let on_failure = move |failure: &WriteFailure| {
        let _ = errors.send(failure_action(failure));
    };
    match StoreWriter::spawn_with_errors(path, on_failure) {
        Ok(writer) => Some(writer),
        Err(StoreError::ReadOnly { path }) => {
            // Said once, here and on the welcome screen; reading still works.
            let problem = format!(
                "saving is off (read-only; saved conversations still open): {}",
                path.display()
            );
            at_start.push(Action::Notify(Notice::error(problem.clone())));
            app.store_problem = Some(problem);
            None
        }
        Err(e) => {
            app.store_problem = Some(format!("conversations are not being saved: {e}"));
            None
        }
    }
}

/// What the app hears of a failed write: a conflict it resolves, or a notice.
fn failure_action(failure: &WriteFailure) -> Action {
    match &failure.error {
        StoreError::Conflict {
            conversation_id,
            message_id,
            ..
        } => Action::SaveConflict {
            conversation: conversation_id.clone(),
            message: message_id.clone(),
        },
        _ => Action::Notify(Notice::error(format!("not saved: {failure}"))),
    }
}

/// The actions that open the conversation asked for on the command line (none for a new one,
/// or for `--continue` with nothing saved yet).
fn open_at_start(start: &Start, path: Option<&Path>) -> anyhow::Result<Vec<Action>> {
    let (Start::Continue | Start::Resume(_)) = start else {
        return Ok(Vec::new());
    };
    let path = path.ok_or_else(|| anyhow::anyhow!("no data directory for saved conversations"))?;
    let store = Store::open_for_reading(path)?;
    let id = match start {
        Start::Resume(prefix) => store.resolve(prefix)?,
        _ => match store.most_recent()? {
            Some(id) => id,
            None => return Ok(Vec::new()),
        },
    };
    Ok(open_saved(&store, &id)?)
}
