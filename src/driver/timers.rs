//! The app's timers: the deadlines of the wake-ups it asked for ([`Effect::Schedule`]).
//!
//! The app decides when it wants to be woken (a notice's expiry, the spinner's next frame, a
//! token count once the input is still);
//! the loop only keeps one deadline per [`Timer`] and sleeps until the earliest, so nothing
//! wakes up while none is pending. Times are tokio's, so tests can run them on paused time.
//!
//! [`Effect::Schedule`]: crate::app::Effect::Schedule

use std::time::Duration;

use tokio::time::Instant;

use crate::app::Timer;

/// One deadline per timer.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    pending: Vec<(Timer, Instant)>,
}

impl Timers {
    /// Fire `timer` once `after` has passed from now, replacing a pending one.
    pub(crate) fn schedule(&mut self, timer: Timer, after: Duration) {
        self.schedule_at(timer, Instant::now() + after);
    }

    fn schedule_at(&mut self, timer: Timer, at: Instant) {
        self.pending.retain(|(t, _)| *t != timer);
        self.pending.push((timer, at));
    }

    /// When the earliest pending timer is due; `None` when none is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|(_, at)| *at).min()
    }

    /// The earliest timer due at `now`, taken off the list.
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<Timer> {
        let (index, _) = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, (_, at))| *at <= now)
            .min_by_key(|(_, (_, at))| *at)?;
        Some(self.pending.swap_remove(index).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_deadline_per_timer_taken_earliest_first() {
        let start = Instant::now();
        let mut timers = Timers::default();
        assert_eq!(timers.next_deadline(), None, "nothing pending, no wake-up");
        timers.schedule_at(Timer::NoticeExpiry, start + Duration::from_secs(4));
        timers.schedule_at(Timer::Spinner, start + Duration::from_millis(100));
        assert_eq!(
            timers.next_deadline(),
            Some(start + Duration::from_millis(100))
        );
        assert_eq!(timers.take_due(start), None, "nothing is due yet");
        // A second notice moves the expiry instead of adding one.
        timers.schedule_at(Timer::NoticeExpiry, start + Duration::from_secs(5));
        let late = start + Duration::from_secs(6);
        assert_eq!(timers.take_due(late), Some(Timer::Spinner));
        assert_eq!(timers.take_due(late), Some(Timer::NoticeExpiry));
        assert_eq!(timers.take_due(late), None, "each fires once");
        assert_eq!(timers.next_deadline(), None);
    }
}
