//! The driver: where the pure app meets the terminal, the network and the disk.
//!
//! `App::update` decides, and says what it wants done as [`Effect`](crate::app::Effect)s; the
//! driver does it and reports back as [`Action`](crate::app::Action)s on one channel. Each
//! concern has its own file, in the order a key press or a stream delta passes through them:
//!
//! - `event_loop`: one `select!` over terminal input, the app channel, signals and timers; each
//!   action goes through `App::update`, what else is queued is drained, then at most one frame
//!   is drawn;
//! - `pacing`: when the next frame may be drawn (sooner after input than after a stream delta);
//! - `timers`: the deadlines of the wake-ups the app asked for (a notice's expiry, the spinner,
//!   a token count once the input is still);
//! - `effects`: the I/O of each effect (requests, saves, store reads, copies, exports);
//! - `stream`: one request's task, turning the reply stream into `Action::Api` events;
//! - `count`: token counts in the background, and whether the endpoint has them;
//! - `session`: the app, its store writer and the driver built from the config, a saved
//!   conversation opened at start, and the bounded flush at exit;
//! - `terminal`: raw mode and the alternate screen (restored on drop and on panic), and the
//!   backend that remembers its size and lets no control character reach a cell;
//! - `input`: terminal events, read only when crossterm has some (the wake-up gate);
//! - `attach`: files prepared off the loop, path completion, and requests' attachments
//!   written in just before they go out;
//! - `thumbnail`: whether the terminal shows images (asked once at start), and thumbnails
//!   decoded and scaled down off the loop;
//! - `editor`, `clipboard`, `signals`: `$EDITOR`, OSC 52 and clipboard tools, SIGTERM/SIGHUP.

mod attach;
mod clipboard;
mod count;
mod editor;
mod effects;
mod event_loop;
mod input;
mod pacing;
mod screen;
mod session;
mod signals;
mod stream;
mod terminal;
mod thumbnail;
mod timers;
mod tools;

pub use input::Input;
pub use session::Session;
pub use terminal::Resizable;

use ratatui::Terminal;

/// How `tern` was asked to start.
#[derive(Debug, Clone, Default)]
pub enum Start {
    #[default]
    New,
    Continue,
    Resume(String),
}

/// Run the full-screen app until the user quits.
#[allow(clippy::disallowed_methods)] // the terminal backend; every cell is checked in `draw`
pub async fn run(
    config: crate::config::Config,
    start: Start,
    utc_offset: time::UtcOffset,
) -> anyhow::Result<()> {
    let images = config.images;
    let mut session = Session::new(
        config,
        start,
        utc_offset,
        crate::store::Store::default_path(),
    )?;
    let guard = terminal::TerminalGuard::enter()?;
    // In raw mode, before the first frame and before input is read.
    let areas = crate::ui::ImageAreas::default();
    if let Some(picker) = thumbnail::detect(images) {
        session.thumbnails_on(crate::ui::Thumbnails::new(picker, areas.clone()));
    }
    // The alternate screen starts blank, so no clear (which would query the cursor position).
    let backend = terminal::SizedBackend::new(std::io::stdout())?.with_image_areas(areas);
    let mut terminal = Terminal::new(backend)?;
    let result = session
        .run(&mut terminal, &mut input::TerminalInput::new())
        .await;
    drop(terminal);
    drop(guard);
    if let Err(e) = session.shutdown().await {
        crate::term_eprintln!("tern: warning: some writes failed: {e}");
    }
    result
}
