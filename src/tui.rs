//! The driver: terminal setup and restore, the event loop, and every effect's I/O.
//!
//! One `tokio::select!` waits on terminal input, the app channel (stream deltas, store errors,
//! editor results), signals, and — only when something is pending — the spinner and the next
//! frame. Redraws are coalesced: all queued actions are applied, then at most one frame is drawn
//! per [`FRAME`]. With nothing happening nothing wakes up (no idle tick).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyEventKind, MouseEventKind,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::{OnceCell, mpsc};
use tokio::task::JoinHandle;

use crate::api::{ApiError, Client, Delta, RetryNotice, StreamEvent};
use crate::app::{Action, ApiEvent, App, BrowserRow, Effect, Notice, RequestId, SaveOp, Settings};
use crate::config::Config;
use crate::store::{Store, StoreWriter};
use crate::ui::{self, ViewState};

/// The shortest time between two frames after user input.
pub const FRAME: Duration = Duration::from_millis(16);
/// The shortest time between two frames when only a stream changed the screen: 20 fps reads
/// as smooth text and costs a third of drawing at 60 fps (aichat batches every 50 ms too).
pub const STREAM_FRAME: Duration = Duration::from_millis(50);
const SPINNER_EVERY: Duration = Duration::from_millis(100);

/// How `tern` was asked to start.
#[derive(Debug, Clone, Default)]
pub enum Start {
    #[default]
    New,
    Continue,
    Resume(String),
}

/// The crossterm backend with its size remembered rather than asked of the tty on every frame
/// (an open of /dev/tty plus an ioctl per draw); resize events update it.
pub struct SizedBackend<W: Write> {
    inner: CrosstermBackend<W>,
    size: ratatui::layout::Size,
}

impl<W: Write> SizedBackend<W> {
    pub fn new(writer: W) -> std::io::Result<Self> {
        let (width, height) = crossterm::terminal::size()?;
        Ok(SizedBackend {
            inner: CrosstermBackend::new(writer),
            size: ratatui::layout::Size::new(width, height),
        })
    }
}

/// Lets the event loop tell a backend about a resize (only [`SizedBackend`] needs it).
pub trait Resizable {
    fn resized(&mut self, _width: u16, _height: u16) {}
}

impl<W: Write> Resizable for SizedBackend<W> {
    fn resized(&mut self, width: u16, height: u16) {
        self.size = ratatui::layout::Size::new(width, height);
    }
}

impl Resizable for ratatui::backend::TestBackend {}

impl<W: Write> ratatui::backend::Backend for SizedBackend<W> {
    type Error = std::io::Error;

    fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        let cells: Vec<_> = content.collect();
        if cells.iter().all(|(_, _, cell)| cell_is_clean(cell)) {
            return self.inner.draw(cells.into_iter());
        }
        let cleaned = clean_cells(&cells);
        self.inner
            .draw(cleaned.iter().map(|(x, y, cell)| (*x, *y, cell)))
    }
    fn append_lines(&mut self, n: u16) -> std::io::Result<()> {
        self.inner.append_lines(n)
    }
    fn hide_cursor(&mut self) -> std::io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> std::io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> std::io::Result<ratatui::layout::Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> std::io::Result<()> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> std::io::Result<()> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ratatui::backend::ClearType) -> std::io::Result<()> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> std::io::Result<ratatui::layout::Size> {
        Ok(self.size)
    }
    fn window_size(&mut self) -> std::io::Result<ratatui::backend::WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> std::io::Result<()> {
        ratatui::backend::Backend::flush(&mut self.inner)
    }
}

/// Whether a cell's symbol is safe to send to the terminal as it is.
fn cell_is_clean(cell: &ratatui::buffer::Cell) -> bool {
    let symbol = cell.symbol();
    symbol.bytes().all(|b| (0x20..0x7f).contains(&b))
        || crate::sanitize::for_clipboard(symbol).len() == symbol.len()
}

/// The last line of defence: whatever a view path forgot, no control character, escape
/// sequence or invisible character in a cell reaches the terminal (the layout already gave the
/// cell its width, so such characters are dropped here, not marked).
fn clean_cells(
    cells: &[(u16, u16, &ratatui::buffer::Cell)],
) -> Vec<(u16, u16, ratatui::buffer::Cell)> {
    cells
        .iter()
        .map(|(x, y, cell)| {
            let mut cell = (*cell).clone();
            if !cell_is_clean(&cell) {
                let symbol = crate::sanitize::for_clipboard(cell.symbol()).into_owned();
                cell.set_symbol(if symbol.is_empty() { " " } else { &symbol });
            }
            (*x, *y, cell)
        })
        .collect()
}

/// Puts the terminal in app mode and restores it on drop (also on panic, via the hook).
pub struct TerminalGuard;

impl TerminalGuard {
    pub fn enter() -> std::io::Result<TerminalGuard> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            hook(info);
        }));
        enter_app_mode()?;
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Raw mode, the alternate screen, bracketed paste, mouse wheel, hidden cursor.
#[allow(clippy::disallowed_methods)] // our own sequences to the terminal
fn enter_app_mode() -> std::io::Result<()> {
    enable_raw_mode()?;
    crossterm::execute!(
        std::io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableMouseCapture,
        crossterm::cursor::Hide
    )
}

#[allow(clippy::disallowed_methods)] // our own sequences to the terminal
pub fn restore_terminal() {
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Builds the API client on first use (running `api_key_command` then, not at startup).
struct ClientCell {
    config: Config,
    cell: OnceCell<Client>,
}

impl ClientCell {
    async fn get(&self) -> Result<Client, ApiError> {
        self.cell
            .get_or_try_init(|| async {
                let key = self.config.resolve_key().await?;
                Client::new(self.config.client_config(key))
            })
            .await
            .cloned()
    }
}

/// Everything the effects need.
pub struct Driver {
    tx: mpsc::UnboundedSender<Action>,
    client: Arc<ClientCell>,
    writer: Option<StoreWriter>,
    store_path: Option<PathBuf>,
    /// Read connection for the browser, opened on first use.
    reader: Option<Arc<std::sync::Mutex<Store>>>,
    requests: std::collections::HashMap<RequestId, JoinHandle<()>>,
}

/// Conversations listed (or search results shown) in the browser.
const BROWSER_ROWS: u64 = 200;
/// Messages loaded for the browser's preview (the latest ones).
const PREVIEW_MESSAGES: usize = 40;

/// Terminal input as the loop sees it: events, and a way to hand the terminal to `$EDITOR`.
pub trait Input: futures_util::Stream<Item = std::io::Result<Event>> + Unpin {
    /// Suspend the app, let the user edit `text`, return the result.
    fn edit(&mut self, text: &str) -> Result<String, String>;
}

/// The real terminal's input (crossterm's `EventStream`).
///
/// Polled only after crossterm has woken it: polling an `EventStream` that is not ready still
/// takes crossterm's reader lock, which its background thread holds while blocked on the tty.
/// The loop wakes for every stream delta, so without the gate each delta paid that contention
/// (measured: about a fifth of the CPU of a paced reply).
pub struct TerminalInput {
    events: EventStream,
    gate: Arc<ReadyGate>,
}

/// Remembers whether the inner stream asked to be polled, and forwards the wake-up.
#[derive(Default)]
struct ReadyGate {
    ready: std::sync::atomic::AtomicBool,
    outer: futures_util::task::AtomicWaker,
}

impl std::task::Wake for ReadyGate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, std::sync::atomic::Ordering::Release);
        self.outer.wake();
    }
}

impl TerminalInput {
    pub fn new() -> TerminalInput {
        let gate = Arc::new(ReadyGate::default());
        gate.ready.store(true, std::sync::atomic::Ordering::Release);
        TerminalInput {
            events: EventStream::new(),
            gate,
        }
    }
}

impl Default for TerminalInput {
    fn default() -> Self {
        Self::new()
    }
}

impl futures_util::Stream for TerminalInput {
    type Item = std::io::Result<Event>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::sync::atomic::Ordering;
        self.gate.outer.register(cx.waker());
        if !self.gate.ready.swap(false, Ordering::AcqRel) {
            return std::task::Poll::Pending;
        }
        let waker = std::task::Waker::from(self.gate.clone());
        let poll = self
            .events
            .poll_next_unpin(&mut std::task::Context::from_waker(&waker));
        if poll.is_ready() {
            // There may be more queued: poll again next time.
            self.gate.ready.store(true, Ordering::Release);
        }
        poll
    }
}

impl Input for TerminalInput {
    fn edit(&mut self, text: &str) -> Result<String, String> {
        // Stop reading the terminal while the editor owns it, and start afresh after.
        self.events = EventStream::new();
        let result = run_editor(text);
        *self = TerminalInput::new();
        result
    }
}

/// The app, its view, and the driver, ready to run on any terminal backend.
pub struct Session {
    pub app: App,
    pub view: ViewState,
    driver: Driver,
    rx: mpsc::UnboundedReceiver<Action>,
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
        let mut app = App::new(Settings::from_config(&config, keymap), Instant::now());
        let writer = match &store_path {
            Some(path) => {
                let errors = tx.clone();
                match StoreWriter::spawn_with_errors(path, move |failure| {
                    let action = match &failure.error {
                        crate::store::StoreError::Conflict {
                            conversation_id,
                            message_id,
                            ..
                        } => Action::SaveConflict {
                            conversation: conversation_id.clone(),
                            message: message_id.clone(),
                        },
                        _ => Action::Notify(Notice::error(format!("not saved: {failure}"))),
                    };
                    let _ = errors.send(action);
                }) {
                    Ok(w) => Some(w),
                    Err(crate::store::StoreError::ReadOnly { path }) => {
                        // Said once, here and on the welcome screen; reading still works.
                        let problem = format!(
                            "saving is off: {} is read-only; saved conversations can still be read",
                            path.display()
                        );
                        app.notify(Notice::error(problem.clone()));
                        app.store_problem = Some(problem);
                        None
                    }
                    Err(e) => {
                        app.store_problem = Some(format!("conversations are not being saved: {e}"));
                        None
                    }
                }
            }
            None => {
                app.store_problem =
                    Some("conversations are not being saved: no data directory".into());
                None
            }
        };
        for action in open_at_start(&start, store_path.as_deref())? {
            // Opening needs no I/O of the driver: nothing to run.
            let _ = app.update(action);
        }
        if let Some(warning) = config.cleartext_notice() {
            app.update(Action::Notify(Notice::error(warning)));
        }
        let has_key = config.has_key();
        let driver = Driver {
            tx,
            client: Arc::new(ClientCell {
                config,
                cell: OnceCell::new(),
            }),
            writer,
            store_path,
            reader: None,
            requests: Default::default(),
        };
        if has_key {
            driver.fetch_models();
        }
        Ok(Session {
            app,
            view: ViewState::new(theme, utc_offset),
            driver,
            rx,
            frames: None,
        })
    }

    /// Run until the user quits.
    pub async fn run<B: ratatui::backend::Backend + Resizable, I: Input>(
        &mut self,
        terminal: &mut Terminal<B>,
        input: &mut I,
    ) -> anyhow::Result<()>
    where
        B::Error: Send + Sync + 'static,
    {
        event_loop(self, terminal, input).await
    }

    /// Stop streams and wait (bounded) for every save to reach the disk.
    pub async fn shutdown(mut self) -> Result<(), crate::store::StoreError> {
        for (_, task) in self.driver.requests.drain() {
            task.abort();
        }
        match &self.driver.writer {
            Some(writer) => tokio::time::timeout(Duration::from_secs(5), writer.flush())
                .await
                .unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

/// Run the full-screen app until the user quits.
#[allow(clippy::disallowed_methods)] // the terminal backend; every cell is checked in `draw`
pub async fn run(config: Config, start: Start, utc_offset: time::UtcOffset) -> anyhow::Result<()> {
    let mut session = Session::new(config, start, utc_offset, Store::default_path())?;
    let guard = TerminalGuard::enter()?;
    // The alternate screen starts blank, so no clear (which would query the cursor position).
    let mut terminal = Terminal::new(SizedBackend::new(std::io::stdout())?)?;
    let result = session.run(&mut terminal, &mut TerminalInput::new()).await;
    drop(terminal);
    drop(guard);
    if let Err(e) = session.shutdown().await {
        crate::term_eprintln!("tern: warning: some writes failed: {e}");
    }
    result
}

fn open_at_start(start: &Start, path: Option<&std::path::Path>) -> anyhow::Result<Vec<Action>> {
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

/// The actions that open a saved conversation: its messages, then its unsent draft.
fn open_saved(store: &Store, id: &str) -> Result<Vec<Action>, crate::store::StoreError> {
    let (conversation, messages) = store.load(id)?;
    let mut actions = vec![Action::OpenSaved {
        conversation,
        messages,
    }];
    let draft = store.draft(id)?;
    if !draft.is_empty() {
        actions.push(Action::RestoreDraft {
            conversation: id.to_owned(),
            text: draft,
        });
    }
    Ok(actions)
}

async fn event_loop<B: ratatui::backend::Backend + Resizable, I: Input>(
    session: &mut Session,
    terminal: &mut Terminal<B>,
    input: &mut I,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let mut signals = Signals::new()?;
    let mut dirty = true;
    // Whether the pending frame answers user input (drawn sooner than stream updates).
    let mut urgent = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut spinner = tokio::time::interval(SPINNER_EVERY);
    spinner.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let interval = if urgent { FRAME } else { STREAM_FRAME };
        if dirty && last_draw.elapsed() >= interval {
            let Session {
                app, view, frames, ..
            } = &mut *session;
            app.now = Instant::now();
            app.now_ms = crate::store::now_ms();
            let frame = terminal.draw(|frame| ui::draw(app, view, frame))?;
            if let Some(frames) = frames {
                frames.send_replace(frame.buffer.clone());
            }
            last_draw = Instant::now();
            dirty = false;
            urgent = false;
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + interval);
        let notice_expiry = session
            .app
            .notice
            .as_ref()
            .map(|(_, at)| tokio::time::Instant::from_std(*at + crate::app::NOTICE_TTL));
        let waiting = session.app.is_waiting();
        let action = tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => {
                    if let Event::Resize(width, height) = event {
                        terminal.backend_mut().resized(width, height);
                    }
                    match to_action(event) {
                        Some(action) => {
                            urgent = true;
                            action
                        }
                        None => continue,
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                None => Action::Terminate,
            },
            Some(action) = session.rx.recv() => action,
            _ = signals.recv() => Action::Terminate,
            _ = spinner.tick(), if waiting => Action::Tick,
            _ = tokio::time::sleep_until(notice_expiry.unwrap_or(next_frame)), if notice_expiry.is_some() => Action::Tick,
            _ = tokio::time::sleep_until(next_frame), if dirty => continue,
        };
        let mut quit = apply(session, terminal, input, action)?;
        // Drain what else is queued before drawing (coalescing a burst of deltas into one frame).
        for _ in 0..4096 {
            if quit {
                break;
            }
            match session.rx.try_recv() {
                Ok(action) => quit = apply(session, terminal, input, action)?,
                Err(_) => break,
            }
        }
        dirty = true;
        if quit {
            return Ok(());
        }
    }
}

fn to_action(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollUp => Some(Action::Wheel(-3)),
            MouseEventKind::ScrollDown => Some(Action::Wheel(3)),
            _ => None,
        },
        Event::Resize(..) => Some(Action::Resize),
        _ => None,
    }
}

/// Update the app with one action and carry out its effects. `Ok(true)` means quit.
fn apply<B: ratatui::backend::Backend + Resizable, I: Input>(
    session: &mut Session,
    terminal: &mut Terminal<B>,
    input: &mut I,
    action: Action,
) -> anyhow::Result<bool>
where
    B::Error: Send + Sync + 'static,
{
    let Session {
        app, view, driver, ..
    } = session;
    app.now = Instant::now();
    app.now_ms = crate::store::now_ms();
    let effects = app.update(action);
    let mut quit = false;
    for effect in effects {
        match effect {
            Effect::Quit => quit = true,
            Effect::Editor(text) => {
                let result = input.edit(&text);
                // Repaint everything (resize clears without querying the cursor position, which
                // `Terminal::clear` does and which can time out right after the editor).
                let size = terminal.size()?;
                terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))?;
                app.now = Instant::now();
                app.now_ms = crate::store::now_ms();
                app.update(Action::EditorClosed(result));
            }
            Effect::Scroll { conversation, by } => view.scroll(app, &conversation, by),
            other => driver.run(other),
        }
    }
    view.retain(app);
    Ok(quit)
}

impl Driver {
    fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Send {
                conversation,
                request,
                body,
            } => {
                self.requests.retain(|_, task| !task.is_finished());
                let task = tokio::spawn(stream_reply(
                    self.client.clone(),
                    conversation,
                    request,
                    body,
                    self.tx.clone(),
                ));
                self.requests.insert(request, task);
            }
            Effect::Cancel(request) => {
                if let Some(task) = self.requests.remove(&request) {
                    task.abort();
                }
            }
            Effect::Save(op) => self.save(op),
            Effect::Copy { text, what } => {
                let notice = match copy_to_clipboard(&text) {
                    Ok((chars, how)) => {
                        Notice::info(format!("copied {what} ({chars} chars, {how})"))
                    }
                    Err(e) => Notice::error(format!("copy failed: {e}")),
                };
                let _ = self.tx.send(Action::Notify(notice));
            }
            Effect::BrowserQuery { generation, query } => {
                if let Err(e) = self.reader() {
                    // Answer the query, so the browser says why instead of searching forever.
                    let _ = self.tx.send(Action::BrowserRows {
                        generation,
                        rows: Err(e),
                    });
                    return;
                }
                self.read(move |store| {
                    let rows = if query.trim().is_empty() {
                        store.list(0, BROWSER_ROWS).map(|rows| {
                            rows.into_iter()
                                .map(|summary| BrowserRow {
                                    summary,
                                    snippet: None,
                                })
                                .collect()
                        })
                    } else {
                        store
                            .search_conversations(&query, BROWSER_ROWS as usize)
                            .map(|matches| {
                                matches
                                    .into_iter()
                                    .map(|m| BrowserRow {
                                        snippet: m.hits.first().map(|h| h.snippet.clone()),
                                        summary: m.summary,
                                    })
                                    .collect()
                            })
                    };
                    Some(Action::BrowserRows {
                        generation,
                        rows: rows.map_err(|e| e.to_string()),
                    })
                });
            }
            Effect::BrowserPreview(id) => self.read(move |store| {
                let (_, mut messages) = store.load(&id).ok()?;
                let keep = messages.len().saturating_sub(PREVIEW_MESSAGES);
                messages.drain(..keep);
                Some(Action::BrowserPreview { id, messages })
            }),
            Effect::Reload(id) => self.read(move |store| {
                Some(match store.load(&id) {
                    Ok((conversation, messages)) => Action::Reloaded {
                        conversation,
                        messages,
                    },
                    Err(e) => Action::Notify(Notice::error(format!("cannot reload: {e}"))),
                })
            }),
            Effect::OpenConversation(id) => self.read(move |store| {
                open_saved(store, &id).unwrap_or_else(|e| {
                    vec![Action::Notify(Notice::error(format!("cannot open: {e}")))]
                })
            }),
            Effect::Export(id) => self.read(move |store| {
                // Into the current directory, under a name no file has yet.
                let stem = format!("tern-{}", &id[..id.len().min(8)]);
                let result = store
                    .export_markdown(&id)
                    .map_err(|e| e.to_string())
                    .and_then(|text| {
                        crate::commands::write_new_file(
                            std::path::Path::new("."),
                            &stem,
                            "md",
                            &text,
                        )
                        .map_err(|e| e.to_string())
                    });
                Some(Action::Notify(match result {
                    Ok(file) => Notice::info(format!("exported to {}", file.display())),
                    Err(e) => Notice::error(format!("export failed: {e}")),
                }))
            }),
            Effect::Quit | Effect::Editor(_) | Effect::Scroll { .. } => {}
        }
    }

    fn save(&self, op: SaveOp) {
        let Some(writer) = &self.writer else { return };
        let result = match op {
            SaveOp::CreateConversation(c) => writer.create_conversation(c),
            SaveOp::UpdateConversation(c) => writer.update_conversation(c),
            SaveOp::Message(m) => writer.upsert_message(m),
            SaveOp::Rename { id, title } => writer.rename(id, title),
            SaveOp::Delete(id) => writer.delete(id),
            SaveOp::Draft { conversation, text } => writer.set_draft(conversation, text),
        };
        if let Err(e) = result {
            let _ = self
                .tx
                .send(Action::Notify(Notice::error(format!("not saved: {e}"))));
        }
    }

    /// Run a read on the shared read connection, off the async workers, after this session's
    /// queued writes; send its answer.
    fn read<A: IntoIterator<Item = Action> + Send + 'static>(
        &mut self,
        query: impl FnOnce(&Store) -> A + Send + 'static,
    ) {
        let reader = match self.reader() {
            Ok(reader) => reader,
            Err(e) => {
                let _ = self.tx.send(Action::Notify(Notice::error(e)));
                return;
            }
        };
        let tx = self.tx.clone();
        let writer = self.writer.clone();
        tokio::spawn(async move {
            // Read our own writes: what this session queued is committed before the query.
            if let Some(writer) = writer {
                let _ = writer.flush().await;
            }
            let answer = tokio::task::spawn_blocking(move || match reader.lock() {
                Ok(store) => query(&store).into_iter().collect(),
                Err(_) => vec![Action::Notify(Notice::error(
                    "the store reader failed earlier",
                ))],
            })
            .await
            .unwrap_or_default();
            for action in answer {
                let _ = tx.send(action);
            }
        });
    }

    /// The read connection, opened on first use (read-only where the store cannot be written).
    fn reader(&mut self) -> Result<Arc<std::sync::Mutex<Store>>, String> {
        if let Some(reader) = &self.reader {
            return Ok(reader.clone());
        }
        let path = self
            .store_path
            .as_ref()
            .ok_or("no saved conversations: no data directory")?;
        let store = Store::open_for_reading(path).map_err(|e| e.to_string())?;
        let reader = Arc::new(std::sync::Mutex::new(store));
        self.reader = Some(reader.clone());
        Ok(reader)
    }

    fn fetch_models(&self) {
        let client = self.client.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Ok(client) = client.get().await
                && let Ok(Some(models)) = client.models().await
            {
                let _ = tx.send(Action::ModelsFetched(
                    models.into_iter().map(|m| m.id).collect(),
                ));
            }
        });
    }
}

/// One request: stream the reply into the app channel, tagged with its conversation and id.
async fn stream_reply(
    client: Arc<ClientCell>,
    conversation: String,
    request: RequestId,
    body: crate::api::MessagesRequest,
    tx: mpsc::UnboundedSender<Action>,
) {
    let send = |event: ApiEvent| {
        let _ = tx.send(Action::Api {
            conversation: conversation.clone(),
            request,
            event,
        });
    };
    let client = match client.get().await {
        Ok(c) => c,
        Err(error) => {
            send(ApiEvent::Failed {
                error,
                partial: None,
            });
            return;
        }
    };
    let mut on_retry = |notice: &RetryNotice| send(ApiEvent::Retrying(notice.clone()));
    let mut stream = match client.stream(&body, &mut on_retry).await {
        Ok(s) => s,
        Err(error) => {
            send(ApiEvent::Failed {
                error,
                partial: None,
            });
            return;
        }
    };
    loop {
        match stream.next().await {
            Some(Ok(StreamEvent::MessageStart(message))) => send(ApiEvent::Started {
                usage: message.usage,
            }),
            Some(Ok(StreamEvent::BlockDelta {
                delta: Delta::Text(text),
                ..
            })) => send(ApiEvent::Text(text)),
            Some(Ok(StreamEvent::MessageDelta { .. })) => send(ApiEvent::Usage(stream.usage())),
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                send(ApiEvent::Failed {
                    error,
                    partial: Some(Box::new(stream.snapshot())),
                });
                return;
            }
            None => {
                send(ApiEvent::Finished(Box::new(stream.snapshot())));
                return;
            }
        }
    }
}

/// SIGTERM and SIGHUP, as one stream.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.hup.recv() => {},
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

/// Suspend the app, edit `text` in `$VISUAL`/`$EDITOR`, come back.
fn run_editor(text: &str) -> Result<String, String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    let file = tempfile::Builder::new()
        .prefix("tern-prompt-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
    std::fs::write(file.path(), text).map_err(|e| e.to_string())?;
    restore_terminal();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status();
    enter_app_mode().map_err(|e| format!("cannot restore the terminal: {e}"))?;
    match status {
        Ok(s) if s.success() => std::fs::read_to_string(file.path()).map_err(|e| e.to_string()),
        Ok(s) => Err(format!("{editor} exited with {s}; the input is unchanged")),
        Err(e) => Err(format!("cannot run {editor}: {e}")),
    }
}

/// What a copy puts on the clipboard: the text through [`crate::sanitize::for_clipboard`]
/// (controls, escape sequences and invisible characters removed; newline and tab kept), and
/// the OSC 52 sequence that carries it.
pub(crate) struct ClipboardPayload {
    pub text: String,
    pub osc52: String,
}

pub(crate) fn clipboard_payload(text: &str) -> ClipboardPayload {
    let text = crate::sanitize::for_clipboard(text).into_owned();
    let osc52 = format!("\x1b]52;c;{}\x07", base64_encode(text.as_bytes()));
    ClipboardPayload { text, osc52 }
}

/// OSC 52 (works over SSH), plus a native clipboard tool when one is installed; the chars
/// copied and how.
#[allow(clippy::disallowed_methods)] // OSC 52 is written to the terminal itself
fn copy_to_clipboard(text: &str) -> Result<(usize, &'static str), String> {
    let ClipboardPayload { text, osc52 } = clipboard_payload(text);
    let chars = text.chars().count();
    let mut out = std::io::stdout();
    let osc = out.write_all(osc52.as_bytes()).and_then(|_| out.flush());
    for (tool, args) in [
        ("wl-copy", &[][..]),
        ("xclip", &["-selection", "clipboard"][..]),
        ("xsel", &["--clipboard", "--input"][..]),
        ("pbcopy", &[][..]),
    ] {
        let child = std::process::Command::new(tool)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            if child.wait().is_ok_and(|s| s.success()) {
                return Ok((chars, tool));
            }
        }
    }
    osc.map(|_| (chars, "OSC 52")).map_err(|e| e.to_string())
}

fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clipboard_gets_text_without_controls_or_hidden_characters() {
        let reply = "run \u{1b}]52;c;ZXZpbA==\u{7}this\u{1b}[2J\r\n\tls\u{202e}txt.exe\u{202c}\u{200b} \u{9b}31m👨\u{200d}👩\n";
        let payload = clipboard_payload(reply);
        assert_eq!(payload.text, "run this\n\tlstxt.exe 👨\u{200d}👩\n");
        let encoded = payload
            .osc52
            .strip_prefix("\x1b]52;c;")
            .and_then(|rest| rest.strip_suffix('\x07'))
            .expect("one OSC 52 sequence");
        assert_eq!(encoded, base64_encode(payload.text.as_bytes()));
        assert!(!encoded.contains(['\x1b', '\x07']));
    }

    #[test]
    fn no_cell_sends_a_control_or_hidden_character_to_the_terminal() {
        use ratatui::buffer::Cell;
        let raw = [
            "a",
            "\u{1b}",
            "b\u{202e}",
            "中",
            "\u{7}",
            "👨\u{200d}👩",
            "\u{9b}",
        ];
        let cells: Vec<Cell> = raw.iter().copied().map(Cell::new).collect();
        let refs: Vec<(u16, u16, &Cell)> = cells
            .iter()
            .enumerate()
            .map(|(x, c)| (x as u16, 0, c))
            .collect();
        let cleaned: Vec<String> = clean_cells(&refs)
            .iter()
            .map(|(_, _, c)| c.symbol().to_owned())
            .collect();
        assert_eq!(cleaned, ["a", " ", "b", "中", " ", "👨\u{200d}👩", " "]);
        assert!(cells.iter().filter(|c| !cell_is_clean(c)).count() == 4);
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
        }
    }
}
