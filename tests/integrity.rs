//! Data integrity with real processes against the fake server: `tern -c -p` and
//! `tern --resume ID -p` continue a conversation; two terns on one conversation (two `-p` runs,
//! and the app beside a `-p` run) never interleave it; `-p` stopped by SIGINT or SIGTERM saves
//! what it printed; a read-only data directory is still read.
//!
//! Checks that need an unprivileged user (root ignores file modes) re-run this test binary as
//! `nobody` with `TERN_INTEGRITY_CHILD` set; `child_entry` is the entry point and does nothing
//! when the variable is unset.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/session.rs"]
mod session;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use serde_json::Value;
use tern::api::Role;
use tern::api::types::plain_text;
use tern::driver::Start;
use tern::store::{MessageStatus, Store, StoredMessage};

use cli::{Home, server};
use common::stored;
use session::{Rig, message_bodies, request_history};

/// The roles of a request body, checked to start with the user and alternate.
#[track_caller]
fn assert_alternates(body: &Value) {
    let history = request_history(body);
    for (i, (role, _)) in history.iter().enumerate() {
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        assert_eq!(role, expected, "roles must alternate: {history:#?}");
    }
    assert_eq!(history.last().map(|(r, _)| r.as_str()), Some("user"));
}

/// The stored conversation: roles alternate, seqs increase, each message follows the last.
#[track_caller]
fn assert_linear(messages: &[StoredMessage]) {
    for (i, m) in messages.iter().enumerate() {
        let expected = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        assert_eq!(m.role, expected, "message {i} of {messages:#?}");
        if i > 0 {
            assert!(m.seq > messages[i - 1].seq, "{messages:#?}");
            assert_eq!(
                m.parent_id.as_ref(),
                Some(&messages[i - 1].id),
                "{messages:#?}"
            );
        }
    }
}

fn texts(messages: &[StoredMessage]) -> Vec<String> {
    messages.iter().map(|m| plain_text(&m.content)).collect()
}

/// Wait (without asserting on time) until `done` holds for the store, or panic after a while.
#[track_caller]
fn wait_for_store(path: &Path, what: &str, done: impl Fn(&Store) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(store) = Store::open(path)
            && done(&store)
        {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn only_conversation(home: &Home) -> String {
    let store = home.store();
    assert_eq!(store.count().unwrap(), 1);
    store.most_recent().unwrap().unwrap()
}

// ─── -c -p, --resume ID -p ───────────────────────────────────────────────────────────────

#[test]
fn continue_and_resume_with_p_send_the_whole_history_and_save_into_it() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&["-p", "first question"]).success();
    let id = only_conversation(&home);

    let run = home.run(&["-c", "-p", "follow up"]);
    run.success();
    assert!(run.stdout().contains("follow up"), "{}", run.stdout());
    let bodies = message_bodies(&server);
    let history = request_history(&bodies[1]);
    let roles: Vec<&str> = history.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user"], "{history:#?}");
    assert_eq!(history[0].1, "first question");
    assert!(history[1].1.contains("first question"), "the first reply");
    assert_eq!(history[2].1, "follow up");

    // By id prefix; the saved conversation's model, unless -m says otherwise.
    home.run(&["--resume", &id[..6], "-p", "third"]).success();
    home.run(&["--resume", &id, "-m", "claude-haiku-4.5", "-p", "fourth"])
        .success();
    let bodies = message_bodies(&server);
    assert_eq!(bodies[2]["model"], "claude-sonnet-4.6");
    assert_eq!(bodies[3]["model"], "claude-haiku-4.5");
    assert_eq!(request_history(&bodies[3]).len(), 7);
    for body in &bodies {
        assert_alternates(body);
    }

    assert_eq!(only_conversation(&home), id, "no new conversation");
    let (conversation, messages) = home.store().load(&id).unwrap();
    assert_linear(&messages);
    assert_eq!(messages.len(), 8);
    let prompts: Vec<String> = texts(&messages).into_iter().step_by(2).collect();
    assert_eq!(prompts, ["first question", "follow up", "third", "fourth"]);
    assert!(messages.iter().all(|m| m.status == MessageStatus::Complete));
    assert_eq!(messages[7].model.as_deref(), Some("claude-haiku-4.5"));
    assert_eq!(conversation.last_model.as_deref(), Some("claude-haiku-4.5"));

    // --no-save sends the history and saves nothing.
    home.run(&["-c", "--no-save", "-p", "off the record"])
        .success();
    let bodies = message_bodies(&server);
    assert_eq!(request_history(bodies.last().unwrap()).len(), 9);
    assert_eq!(home.store().load(&id).unwrap().1.len(), 8);
}

#[test]
fn continuing_nothing_or_an_unknown_id_is_a_clear_error() {
    let server = server();
    let home = Home::new(&server.base_url());
    let line = home.run(&["-c", "-p", "hello?"]).one_error_line();
    assert!(line.contains("no saved conversation to continue"), "{line}");
    home.run(&["-p", "one"]).success();
    let line = home
        .run(&["--resume", "zzzz", "-p", "hello?"])
        .one_error_line();
    assert!(line.contains("no saved conversation matches"), "{line}");
    assert_eq!(message_bodies(&server).len(), 1, "nothing was sent");
}

// ─── Two terns, one conversation ─────────────────────────────────────────────────────────

#[test]
fn two_p_runs_on_one_conversation_never_interleave_it() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&["-p", "start"]).success();
    let id = only_conversation(&home);

    // The first one streams slowly; the second one runs to the end meanwhile.
    let slow = home.spawn(&["--resume", &id, "-p", "slow one scenario:slow words:30"]);
    wait_for_store(&home.store_path(), "the slow prompt", |s| {
        s.load(&id).is_ok_and(|(_, m)| m.len() == 4)
    });
    home.run(&["--resume", &id, "-p", "quick one"]).success();
    let out = slow.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_, messages) = home.store().load(&id).unwrap();
    assert_linear(&messages);
    let prompts: Vec<String> = texts(&messages).into_iter().step_by(2).collect();
    assert_eq!(
        prompts,
        ["start", "slow one scenario:slow words:30", "quick one"]
    );
    assert!(messages.iter().all(|m| m.status == MessageStatus::Complete));
    for body in message_bodies(&server) {
        assert_alternates(&body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_learns_that_a_p_run_changed_its_conversation_and_reloads_it() {
    let rig = Rig::new().await;
    let home = Home::new(&rig.server.base_url());
    let rig = rig.with_store_at(home.store_path());
    let seeded = home.run(&["-p", "asked in the shell"]);
    seeded.success();
    let id = only_conversation(&home);

    let home = std::sync::Arc::new(home);
    let shell = home.clone();
    let resume = id.clone();
    rig.run(Start::Resume(id.clone()), |mut user| async move {
        user.wait_text("asked in the shell").await;
        // Meanwhile, another tern continues the same conversation.
        let run = tokio::task::spawn_blocking(move || {
            shell.run(&["--resume", &resume, "-p", "continued elsewhere"])
        })
        .await
        .unwrap();
        run.success();
        // This app still shows the old ending; its next turn is refused, then reloaded.
        user.send("typed in the app");
        let text = user.wait_text("changed in another tern").await;
        assert!(text.contains("back in the input"), "{text}");
        let text = user.wait_text("continued elsewhere").await;
        assert!(
            text.contains("typed in the app"),
            "the prompt is in the input:\n{text}"
        );
        // One Enter sends it again, after what the other tern wrote.
        user.key(KeyCode::Enter);
        user.wait_ready_with("│ typed in the app").await;
        session::quit(user)
    })
    .await;

    let (_, messages) = Store::open(home.store_path()).unwrap().load(&id).unwrap();
    assert_linear(&messages);
    let prompts: Vec<String> = texts(&messages).into_iter().step_by(2).collect();
    assert_eq!(
        prompts,
        [
            "asked in the shell",
            "continued elsewhere",
            "typed in the app"
        ]
    );
    let bodies = rig.message_requests();
    for body in &bodies {
        assert_alternates(body);
    }
    let last = request_history(bodies.last().unwrap());
    assert_eq!(
        last.len(),
        5,
        "the resent turn carries the other tern's: {last:#?}"
    );
    assert_eq!(last[2].1, "continued elsewhere");
}

// ─── -p and signals ──────────────────────────────────────────────────────────────────────

/// Start a slow `-p` reply, send `signal` once some text is printed; (exit status, stdout,
/// stderr).
fn interrupt_p(home: &Home, signal: i32) -> (std::process::ExitStatus, String, String) {
    let mut child = home.spawn(&["-p", "scenario:slow words:400"]);
    let mut stdout = child.stdout.take().unwrap();
    let mut printed = Vec::new();
    let mut buf = [0u8; 256];
    while printed.len() < 40 {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the reply ended before the signal");
        printed.extend_from_slice(&buf[..n]);
    }
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    stdout.read_to_end(&mut printed).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8(printed).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn p_stopped_by_sigint_or_sigterm_saves_what_it_printed_and_exits_130_or_143() {
    let server = server();
    for (signal, name, code) in [
        (libc::SIGINT, "SIGINT", 130),
        (libc::SIGTERM, "SIGTERM", 143),
    ] {
        let home = Home::new(&server.base_url());
        let (status, printed, stderr) = interrupt_p(&home, signal);
        assert_eq!(
            status.code(),
            Some(code),
            "{name}: {status:?}, stderr: {stderr}"
        );
        assert!(stderr.contains(&format!("stopped by {name}")), "{stderr}");
        assert!(stderr.contains("the partial reply was saved"), "{stderr}");
        assert!(
            printed.ends_with('\n'),
            "the last line is ended: {printed:?}"
        );

        let id = only_conversation(&home);
        let (_, messages) = home.store().load(&id).unwrap();
        assert_eq!(messages.len(), 2);
        let reply = &messages[1];
        assert_eq!(reply.status, MessageStatus::Stopped, "{name}");
        let saved = plain_text(&reply.content);
        assert!(!saved.is_empty());
        assert_eq!(
            printed.trim_end_matches('\n'),
            saved.trim_end_matches('\n'),
            "{name}: what is saved is what was printed"
        );
    }
}

#[test]
fn p_stopped_with_no_save_says_nothing_was_kept() {
    let server = server();
    let home = Home::new(&server.base_url());
    let mut child = home.spawn(&["--no-save", "-p", "scenario:slow words:400"]);
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    assert!(stdout.read(&mut buf).unwrap() > 0);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    assert!(
        !stderr.contains("kept") && !stderr.contains("saved"),
        "{stderr}"
    );
    assert!(!home.store_path().exists() || home.store().count().unwrap() == 0);
}

// ─── A read-only data directory ──────────────────────────────────────────────────────────

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Make the store at `db` read-only: the file, and its directory (no journal can be created).
#[cfg(unix)]
fn make_read_only(db: &Path) {
    for leftover in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(leftover);
        assert!(!Path::new(&name).exists(), "{name:?} is left over");
    }
    chmod(db, 0o444);
    chmod(db.parent().unwrap(), 0o555);
}

/// Run `tern ARGS` in `home` as an unprivileged user (file modes do not bind root).
#[cfg(unix)]
fn run_unprivileged(home: &Home, args: &[&str]) -> cli::Run {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = home.command(args);
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("tern runs");
    cli::Run {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

#[cfg(unix)]
#[test]
fn a_read_only_data_directory_is_still_read() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&["-p", "a pelican question"]).success();
    let id = only_conversation(&home);
    // Everyone may walk to the data (the temporary home is private to its owner).
    for dir in ["", "data", "config"] {
        let dir = home.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        chmod(&dir, 0o755);
    }
    let db = home.store_path();
    make_read_only(&db);
    let before = std::fs::read(&db).unwrap();

    let list = run_unprivileged(&home, &["list"]);
    list.success();
    assert!(
        list.stdout().contains("a pelican question"),
        "{}",
        list.stdout()
    );
    let found = run_unprivileged(&home, &["search", "--json", "pelican"]);
    found.success();
    assert!(!found.json().as_array().unwrap().is_empty());
    let shown = run_unprivileged(&home, &["show", &id[..6]]);
    shown.success();
    assert!(shown.stdout().contains("a pelican question"));
    run_unprivileged(&home, &["export", &id, "--format", "json"]).success();

    // Asking still works; the exchange says once that it is not saved.
    let asked = run_unprivileged(&home, &["-p", "hello"]);
    asked.success();
    assert!(asked.stderr().contains("not saved"), "{}", asked.stderr());
    let resumed = run_unprivileged(&home, &["-c", "-p", "and again"]);
    resumed.success();
    assert!(
        resumed.stderr().contains("not saved"),
        "{}",
        resumed.stderr()
    );
    let bodies = message_bodies(&server);
    assert_eq!(
        request_history(bodies.last().unwrap()).len(),
        3,
        "the history was read"
    );

    assert_eq!(std::fs::read(&db).unwrap(), before, "the file is untouched");
    chmod(db.parent().unwrap(), 0o755);
}

/// The app on a read-only store: says once that saving is off; the browser and `--resume` read.
async fn app_on_a_read_only_store() {
    let rig = Rig::new().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("tern.db");
    let id = {
        let mut store = Store::open(&db).unwrap();
        let id = "feed0000000000r1";
        let conversation = stored::conversation(id, "Read-only pelicans", stored::T0);
        store.create_conversation(&conversation).unwrap();
        let user = stored::user_message(id, 0, "kept before the lock", stored::T0);
        store.upsert_message(&user).unwrap();
        conversation.id
    };
    make_read_only(&db);
    let rig = rig.with_store_at(db.clone());
    rig.run(Start::New, |mut user| async move {
        user.wait_text("saving is off").await;
        user.ctrl('r');
        user.wait_for("the saved conversation", |t| {
            t.contains("1 recent") && t.contains("Read-only pelicans")
        })
        .await;
        user.key(KeyCode::Enter);
        user.wait_text("kept before the lock").await;
        session::quit(user)
    })
    .await;
    rig.run(Start::Resume(id), |mut user| async move {
        user.wait_text("kept before the lock").await;
        session::quit(user)
    })
    .await;
    chmod(db.parent().unwrap(), 0o755);
}

#[cfg(unix)]
#[test]
fn the_app_on_a_read_only_data_directory_reads_and_says_saving_is_off() {
    use std::os::unix::process::CommandExt as _;
    if !is_root() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(app_on_a_read_only_store());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("TERN_INTEGRITY_CHILD", "read-only-app")
        .env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Entry point of the child processes (does nothing in a normal run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_entry() {
    if let Ok("read-only-app") = std::env::var("TERN_INTEGRITY_CHILD").as_deref() {
        app_on_a_read_only_store().await;
    }
}

// ─── What -p says was kept ───────────────────────────────────────────────────────────────

#[test]
fn p_says_a_partial_reply_was_saved_only_when_one_arrived_and_was_saved() {
    let server = server();
    let home = Home::new(&server.base_url());
    let cut = home.run(&["-p", "scenario:midstream-error"]);
    let line = cut.one_error_line();
    assert!(
        line.contains("the partial reply was saved in conversation"),
        "{line}"
    );
    let id = only_conversation(&home);
    let (_, messages) = home.store().load(&id).unwrap();
    assert_eq!(messages[1].status, MessageStatus::Error);
    assert!(!plain_text(&messages[1].content).is_empty());

    for args in [
        &["--no-save", "-p", "scenario:midstream-error"][..],
        &["-p", "scenario:openai-error"][..],
    ] {
        let line = home.run(args).one_error_line();
        assert!(
            !line.contains("partial") && !line.contains("kept") && !line.contains("saved"),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn p_into_a_reader_that_goes_away_ends_quietly_and_saves_what_was_printed_as_stopped() {
    let server = server();
    let home = Home::new(&server.base_url());
    let mut child = home.spawn(&["-p", "scenario:slow words:400"]);
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    assert!(stdout.read(&mut buf).unwrap() > 0, "some text arrives");
    // `| head -c 64`: the reader closes the pipe.
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {stderr}", out.status);
    assert_eq!(stderr, "", "nothing to say when the reader has gone");
    let id = only_conversation(&home);
    let (_, messages) = home.store().load(&id).unwrap();
    assert_eq!(messages[1].status, MessageStatus::Stopped);
}
