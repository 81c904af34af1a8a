//! The app's timers and the frame pacing, end to end on tokio's paused clock: the real loop
//! (`Session::run`), and time that moves only when every task waits, so each deadline is met
//! exactly and the checks are about the rule, not about how fast this machine is.
//!
//! The endpoint accepts connections and never answers, so a request stays waiting without a
//! server racing the paused clock.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "common/session.rs"]
mod session;

use std::time::Duration;

use crossterm::event::KeyCode;
use tern::app::{NOTICE_TTL, SPINNER_EVERY};
use tern::driver::{Session, Start};
use tokio::time::{Instant, sleep};

use session::{User, config_at, drive, quit, status_line};

/// The shortest time between two frames after a key (the pacer's `FRAME`).
const FRAME: Duration = Duration::from_millis(16);

/// The input line's text (the row above the status bar).
fn input_line(screen: &str) -> &str {
    screen.lines().rev().nth(1).unwrap_or("").trim()
}

/// A session whose endpoint takes connections and never answers them.
fn silent_endpoint_session(dir: &std::path::Path) -> Session {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    Session::new(config_at(url, dir), Start::New, time::UtcOffset::UTC, None).unwrap()
}

async fn run(script: impl AsyncFnOnce(&mut User)) {
    let dir = tempfile::tempdir().unwrap();
    drive(silent_endpoint_session(dir.path()), |mut user| async move {
        user.wait_text("Type a message").await;
        script(&mut user).await;
        // Clear whatever the script left typed, so quitting asks nothing.
        user.ctrl('c');
        quit(user)
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_key_is_drawn_at_once_and_the_next_one_a_frame_later() {
    run(async |user| {
        // Idle for a while: the next key owes nothing to the last frame.
        sleep(Duration::from_secs(1)).await;
        let start = Instant::now();
        user.type_str("a");
        user.wait_for("a typed", |t| input_line(t) == "a").await;
        assert_eq!(start.elapsed(), Duration::ZERO, "drawn at once");
        user.type_str("b");
        user.wait_for("b typed", |t| input_line(t) == "ab").await;
        assert_eq!(start.elapsed(), FRAME, "at most one frame per {FRAME:?}");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn nothing_wakes_the_loop_while_nothing_happens() {
    run(async |user| {
        sleep(Duration::from_millis(100)).await;
        let _ = user.screen();
        sleep(Duration::from_secs(10)).await;
        assert!(!user.drew_since_last_look(), "an idle app draws nothing");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_notice_stays_for_its_time_and_then_goes() {
    run(async |user| {
        let asked = Instant::now();
        user.send("/frobnicate");
        let notice = "unknown command /frobnicate";
        user.wait_text(notice).await;
        sleep(NOTICE_TTL - Duration::from_millis(100)).await;
        assert!(user.screen().contains(notice), "still there near the end");
        // A key in between does not cut it short.
        user.type_str("x");
        user.wait_for("x typed", |t| input_line(t).ends_with('x'))
            .await;
        assert!(user.screen().contains(notice));
        let gone = user
            .wait_for("the notice to go", |t| !t.contains(notice))
            .await;
        assert!(gone.contains("F1 help"), "the help key is back: {gone}");
        // Its timer starts with the notice; the frame without it is drawn at the next
        // frame time (the loop is idle then, so at once).
        let after = asked.elapsed();
        assert_eq!(after, NOTICE_TTL, "gone {after:?} after it was asked for");
        sleep(Duration::from_secs(10)).await;
        assert!(!user.drew_since_last_look(), "and nothing more to do");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_spinner_turns_while_a_request_waits_and_stops_with_it() {
    run(async |user| {
        user.send("hello?");
        let first = user.wait_text("waiting 0s").await;
        let mut last = status_line(&first).to_owned();
        let mut steps = 0;
        for _ in 0..12 {
            sleep(SPINNER_EVERY).await;
            let status = status_line(&user.screen()).to_owned();
            if status != last {
                steps += 1;
            }
            last = status;
        }
        assert_eq!(steps, 12, "a new frame every {SPINNER_EVERY:?}");
        assert!(last.contains("waiting 1s"), "{last}");
        user.key(KeyCode::Esc);
        user.wait_for("stopped", |t| status_line(t).contains("│ ready"))
            .await;
        // What stopping says expires; after that, nothing is drawn.
        sleep(NOTICE_TTL + Duration::from_secs(1)).await;
        let _ = user.screen();
        sleep(Duration::from_secs(10)).await;
        assert!(!user.drew_since_last_look(), "no spinner once stopped");
    })
    .await;
}
