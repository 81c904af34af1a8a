//! The event loop: one `tokio::select!` waits on terminal input, the app channel (stream
//! deltas, store answers and errors, clipboard results), signals, and — only when something is
//! pending — the app's timers and the next frame.
//!
//! Each action goes through `App::update`; its effects run at once (the editor and timers
//! here, the rest in [`Driver::run`](super::effects::Driver::run)). Then whatever else is
//! queued is applied before a frame is drawn, so a burst of deltas costs one frame, and the
//! [`Pacer`] decides when that frame may be drawn. With nothing happening nothing wakes up.

use crossterm::event::{Event, KeyEventKind, MouseEventKind};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;

use super::input::Input;
use super::pacing::Pacer;
use super::session::Session;
use super::signals::Signals;
use super::terminal::Resizable;
use crate::app::{Action, App, Effect, Timer};
use crate::ui;

/// At most this many queued actions are applied between two looks at the terminal.
const DRAIN_AT_MOST: usize = 4096;

pub(crate) async fn event_loop<B: Backend + Resizable, I: Input>(
    session: &mut Session,
    terminal: &mut Terminal<B>,
    input: &mut I,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let mut signals = Signals::new()?;
    let mut pacer = Pacer::new(tokio::time::Instant::now());
    loop {
        if pacer.due(tokio::time::Instant::now()) {
            draw(session, terminal)?;
            pacer.drawn(tokio::time::Instant::now());
        }
        let next_frame = pacer.next_frame();
        let next_timer = session.timers.next_deadline();
        let action = tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => {
                    if let Event::Resize(width, height) = event {
                        terminal.backend_mut().resized(width, height);
                    }
                    match to_action(event) {
                        Some(action) => {
                            pacer.input();
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
            _ = sleep_until(next_timer), if next_timer.is_some() => {
                match session.timers.take_due(tokio::time::Instant::now()) {
                    Some(timer) => Action::Timer(timer),
                    None => continue,
                }
            }
            _ = sleep_until(next_frame), if next_frame.is_some() => continue,
        };
        // A token count's timer changes nothing on screen (the count's answer may): no frame.
        let mut changed = !matches!(action, Action::Timer(Timer::CountTokens));
        let mut quit = apply(session, terminal, input, action)?;
        // Drain what else is queued before drawing (coalescing a burst of deltas into one frame).
        for _ in 0..DRAIN_AT_MOST {
            if quit {
                break;
            }
            match session.rx.try_recv() {
                Ok(action) => {
                    changed = true;
                    quit = apply(session, terminal, input, action)?;
                }
                Err(_) => break,
            }
        }
        if changed {
            pacer.changed();
        }
        if quit {
            return Ok(());
        }
    }
}

/// Sleep until `at`; never wakes without one (the branch using it is disabled then).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Draw one frame (the app's clock set first), and publish it when someone listens.
fn draw<B: Backend>(session: &mut Session, terminal: &mut Terminal<B>) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let Session {
        app,
        view,
        frames,
        screen,
        ..
    } = session;
    set_clock(app);
    // A thumbnail may or may not move with the text a terminal scrolls: no scrolling then.
    let scroll = view.thumbnails.is_none();
    screen.draw(terminal, scroll, |frame| ui::draw(app, view, frame))?;
    if let Some(frames) = frames {
        frames.send_replace(screen.shown().clone());
    }
    Ok(())
}

/// The action a terminal event stands for, if any.
fn to_action(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
        Event::Paste(text) => Some(super::attach::paste_action(text)),
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
fn apply<B: Backend + Resizable, I: Input>(
    session: &mut Session,
    terminal: &mut Terminal<B>,
    input: &mut I,
    action: Action,
) -> anyhow::Result<bool>
where
    B::Error: Send + Sync + 'static,
{
    let Session {
        app,
        view,
        driver,
        timers,
        screen,
        ..
    } = session;
    if let Action::ThumbnailLoaded { sha256, image } = action {
        // Pixels are the view's, never the app's.
        if let Some(thumbnails) = view.thumbnails.as_mut() {
            thumbnails.insert(sha256, image);
        }
        return Ok(false);
    }
    set_clock(app);
    let size = terminal.size()?;
    app.screen = (size.width, size.height);
    let mut effects = std::collections::VecDeque::from(app.update(action));
    let mut quit = false;
    while let Some(effect) = effects.pop_front() {
        match effect {
            Effect::Quit => quit = true,
            Effect::Editor(text) => {
                let result = input.edit(&text);
                // Repaint everything (resize clears without querying the cursor position, which
                // `Terminal::clear` does and which can time out right after the editor).
                let size = terminal.size()?;
                terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))?;
                screen.invalidate();
                set_clock(app);
                effects.extend(app.update(Action::EditorClosed(result)));
            }
            Effect::Schedule { timer, after } => timers.schedule(timer, after),
            other => driver.run(other),
        }
    }
    view.sync(app);
    Ok(quit)
}

/// Give the app the time: tokio's clock (paused in tests, like the timers), and the wall clock
/// in unix ms for what is saved and for "3m ago".
fn set_clock(app: &mut App) {
    app.now = tokio::time::Instant::now().into_std();
    app.now_ms = crate::store::now_ms();
}
