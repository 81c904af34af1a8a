//! Terminal input as the event loop sees it: a stream of events, and a way to lend the
//! terminal to `$EDITOR`.
//!
//! The real input is crossterm's `EventStream` behind a wake-up gate: it is polled only after
//! crossterm has woken it. Polling an `EventStream` that is not ready still takes crossterm's
//! reader lock, which its background thread holds while blocked on the tty; the loop wakes for
//! every stream delta, so without the gate each delta paid that contention (measured: about a
//! fifth of the CPU of a paced reply). Tests feed events from a channel instead.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use futures_util::task::AtomicWaker;

/// Terminal input as the loop sees it: events, and a way to hand the terminal to `$EDITOR`.
pub trait Input: futures_util::Stream<Item = std::io::Result<Event>> + Unpin {
    /// Suspend the app, let the user edit `text`, return the result.
    fn edit(&mut self, text: &str) -> Result<String, String>;
}

/// The real terminal's input (crossterm's `EventStream`, behind the gate).
pub(crate) struct TerminalInput {
    events: EventStream,
    gate: Arc<ReadyGate>,
}

/// Remembers whether the inner stream asked to be polled, and forwards the wake-up.
#[derive(Default)]
struct ReadyGate {
    ready: AtomicBool,
    outer: AtomicWaker,
}

impl std::task::Wake for ReadyGate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::Release);
        self.outer.wake();
    }
}

impl TerminalInput {
    pub(crate) fn new() -> TerminalInput {
        let gate = Arc::new(ReadyGate::default());
        gate.ready.store(true, Ordering::Release);
        TerminalInput {
            events: EventStream::new(),
            gate,
        }
    }
}

impl futures_util::Stream for TerminalInput {
    type Item = std::io::Result<Event>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.gate.outer.register(cx.waker());
        if !self.gate.ready.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let waker = Waker::from(self.gate.clone());
        let poll = self
            .events
            .poll_next_unpin(&mut Context::from_waker(&waker));
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
        let result = super::editor::run_editor(text);
        *self = TerminalInput::new();
        result
    }
}
