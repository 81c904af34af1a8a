//! Frame pacing: when the next frame may be drawn.
//!
//! Redraws are coalesced: every change marks the screen dirty, and a dirty screen is drawn at
//! most once per interval, [`FRAME`] after user input and the longer [`STREAM_FRAME`] when
//! only a stream changed it. A clean screen asks for no frame at all (no idle tick). The pacer
//! only keeps the rule; the loop tells it the time, so the rule is tested without a clock.

use std::time::Duration;

use tokio::time::Instant;

/// The shortest time between two frames after user input.
pub(crate) const FRAME: Duration = Duration::from_millis(16);
/// The shortest time between two frames when only a stream changed the screen: 20 fps reads
/// as smooth text and costs a third of drawing at 60 fps (aichat batches every 50 ms too).
pub(crate) const STREAM_FRAME: Duration = Duration::from_millis(50);

/// Whether a frame is owed, and when it may be drawn.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    /// The screen changed since the last frame.
    dirty: bool,
    /// The pending frame answers user input (drawn sooner than stream updates).
    urgent: bool,
    last_draw: Instant,
}

impl Pacer {
    /// A pacer whose first frame (the whole screen) is due at once.
    pub(crate) fn new(now: Instant) -> Pacer {
        Pacer {
            dirty: true,
            urgent: true,
            last_draw: now.checked_sub(FRAME).unwrap_or(now),
        }
    }

    fn interval(&self) -> Duration {
        if self.urgent { FRAME } else { STREAM_FRAME }
    }

    /// Whether a frame should be drawn now.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.dirty && now.duration_since(self.last_draw) >= self.interval()
    }

    /// When the owed frame may be drawn; `None` when no frame is owed.
    pub(crate) fn next_frame(&self) -> Option<Instant> {
        self.dirty.then(|| self.last_draw + self.interval())
    }

    /// A frame was drawn at `now`.
    pub(crate) fn drawn(&mut self, now: Instant) {
        self.last_draw = now;
        self.dirty = false;
        self.urgent = false;
    }

    /// User input arrived: the next frame is drawn at the short interval.
    pub(crate) fn input(&mut self) {
        self.urgent = true;
    }

    /// The state changed: a frame is owed.
    pub(crate) fn changed(&mut self) {
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_drawn_after_a_frame_and_a_stream_after_a_longer_one() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        assert!(pacer.due(start), "the first frame is drawn at once");
        pacer.drawn(start);
        assert!(!pacer.due(start + STREAM_FRAME * 10), "nothing changed");
        assert_eq!(
            pacer.next_frame(),
            None,
            "a clean screen asks for no wake-up"
        );

        pacer.changed();
        assert_eq!(pacer.next_frame(), Some(start + STREAM_FRAME));
        assert!(!pacer.due(start + FRAME));
        assert!(pacer.due(start + STREAM_FRAME));

        pacer.input();
        assert_eq!(pacer.next_frame(), Some(start + FRAME));
        assert!(!pacer.due(start + FRAME - Duration::from_millis(1)));
        assert!(pacer.due(start + FRAME));
        pacer.drawn(start + FRAME);
        pacer.changed();
        assert_eq!(
            pacer.next_frame(),
            Some(start + FRAME + STREAM_FRAME),
            "drawing ends the urgency"
        );
    }
}
