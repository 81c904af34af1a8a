//! Hostile text on every terminal-bound path of the real binary: a server whose errors and
//! model list carry escape sequences and bidi characters, and saved titles and messages that
//! do. On a terminal nothing of it may reach the screen raw: controls and escape sequences go,
//! bidi and invisible characters show as `⟨U+XXXX⟩`. Pipes, `--json` and `export` stay exact.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/cli.rs"]
mod cli;
mod common;

use serde_json::Value;
use tern::api::ContentBlock;
use tern::fake::{FakeConfig, FakeServer};

use cli::{Home, Tty};
use common::stored;

/// The characters a terminal must never receive raw from outside text: controls (other than
/// the line ends the terminal adds) and the bidi/invisible set (a joiner inside an emoji
/// sequence is fine).
fn hostile_chars(out: &[u8]) -> Vec<char> {
    let text = String::from_utf8_lossy(out).replace("\r\n", "\n");
    let mut prev = ' ';
    let mut found = Vec::new();
    for c in text.chars() {
        let emoji_joiner = c == '\u{200d}' && prev >= '\u{1f000}';
        if (c.is_control() && c != '\n' && c != '\t') || (invisible(c) && !emoji_joiner) {
            found.push(c);
        }
        prev = c;
    }
    found
}

/// `out` holds none of [`hostile_chars`]; else fail showing it.
#[track_caller]
fn assert_clean(out: &[u8]) {
    assert_eq!(
        hostile_chars(out),
        Vec::<char>::new(),
        "{:?}",
        String::from_utf8_lossy(out)
    );
}

fn invisible(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

fn server(config: FakeConfig) -> FakeServer {
    FakeServer::start_background(config).expect("the fake server starts")
}

fn both_on_tty(home: &Home, args: &[&str]) -> cli::Run {
    home.run_command_on_tty(
        home.command(args),
        Tty {
            stderr: true,
            ..Tty::default()
        },
    )
}

// ─── 1. `-p` and a hostile error ─────────────────────────────────────────────────────────

#[test]
fn p_shows_a_hostile_error_without_its_escapes_on_a_terminal() {
    let server = server(FakeConfig::default());
    let home = Home::new(&server.base_url());
    let run = both_on_tty(&home, &["-p", "hello scenario:hostile-error"]);
    assert!(!run.ok());
    let shown = run.stdout();
    assert_clean(&run.stdout);
    assert!(shown.contains("bad request"), "{shown:?}");
    assert!(shown.contains("invalid_request_error"), "{shown:?}");
    assert!(shown.contains("⟨U+202E⟩gnp.exe⟨U+202C⟩"), "{shown:?}");
    assert!(!shown.contains("pwned"), "OSC 0 removed whole: {shown:?}");
    assert!(!shown.contains("ZXZpbA"), "OSC 52 removed whole: {shown:?}");

    // stderr to a pipe (a log file) is cleaned the same way.
    let piped = home.run(&["-p", "hello scenario:hostile-error"]);
    assert_clean(&piped.stderr);
    assert!(piped.stderr().contains("⟨U+202E⟩"), "{:?}", piped.stderr());
}

#[test]
fn p_marks_bidi_characters_of_a_reply_on_a_terminal_and_keeps_them_in_a_pipe() {
    let server = server(FakeConfig::default());
    let home = Home::new(&server.base_url());
    let run = home.run_on_tty(&["-p", "scenario:bidi"]);
    run.success();
    let shown = run.stdout();
    assert_clean(&run.stdout);
    assert!(shown.contains("access⟨U+202E⟩nimda⟨U+202C⟩"), "{shown:?}");
    assert!(shown.contains("zero⟨U+200B⟩width⟨U+2060⟩"), "{shown:?}");
    assert!(
        shown.contains("\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}"),
        "an emoji ZWJ sequence stays whole: {shown:?}"
    );

    let piped = home.run(&["-p", "scenario:bidi"]);
    piped.success();
    assert!(piped.stdout().contains("access\u{202e}nimda\u{202c}"));
}

// ─── 2. `tern models` against a hostile /v1/models ──────────────────────────────────────

#[test]
fn models_from_a_hostile_endpoint_are_shown_clean_on_a_terminal() {
    let server = server(FakeConfig {
        hostile_models: true,
        ..FakeConfig::default()
    });
    let home = Home::new(&server.base_url());
    let run = both_on_tty(&home, &["models"]);
    run.success();
    let shown = run.stdout();
    assert_clean(&run.stdout);
    assert!(shown.contains("rtl⟨U+202E⟩ledom⟨U+202C⟩-x"), "{shown:?}");
    assert!(shown.contains("evil-model"), "{shown:?}");
    assert!(shown.contains("claude-haiku-4.5"), "{shown:?}");

    // --json keeps the ids exact (same JSON value), also on a terminal.
    let json = home.run_on_tty(&["models", "--json"]);
    assert_clean(&json.stdout);
    let doc: Value = serde_json::from_slice(&json.stdout).expect("JSON on the terminal");
    let ids: Vec<&str> = doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(ids.contains(&"rtl\u{202e}ledom\u{202c}-x"), "{ids:?}");
    assert!(
        ids.contains(&"evil\u{1b}]0;pwned\u{7}\u{1b}[2J-model"),
        "{ids:?}"
    );
}

// ─── 4. list / show / search / export with hostile saved text ───────────────────────────

const HOSTILE_TITLE: &str = "Invoice \u{1b}]0;pwned\u{7}\u{202e}fdp.exe\u{202c} review";
const HOSTILE_REPLY: &str = "The zeppelin\u{200b} file is \u{2067}safe\u{2069}.\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7} Done\u{feff}.";
const ID: &str = "f00d0000000000h1";

/// Saves conversation [`ID`]: [`HOSTILE_TITLE`], a question, and [`HOSTILE_REPLY`].
fn seed_hostile(home: &Home) {
    let mut store = home.store();
    let mut c = stored::conversation(ID, HOSTILE_TITLE, stored::T0);
    c.last_model = Some("claude-haiku-4.5".into());
    store.create_conversation(&c).unwrap();
    let question = stored::user_message(ID, 0, "is the zeppelin safe", stored::T0);
    store.upsert_message(&question).unwrap();
    let content = vec![ContentBlock::text(HOSTILE_REPLY)];
    let reply = stored::answer(ID, 1, "claude-haiku-4.5", content, stored::T0);
    store.upsert_message(&reply).unwrap();
}

#[test]
fn list_show_and_search_mark_hidden_characters_on_a_terminal() {
    let home = Home::offline();
    seed_hostile(&home);
    for args in [
        &["list"][..],
        &["show", ID][..],
        &["search", "zeppelin"][..],
        &["export", ID][..],
    ] {
        let run = home.run_on_tty(args);
        run.success();
        let shown = run.stdout();
        let hostile: Vec<char> = hostile_chars(&run.stdout)
            .into_iter()
            // `search` highlights matches with its own SGR sequences.
            .filter(|&c| !(args[0] == "search" && c == '\u{1b}'))
            .collect();
        assert_eq!(hostile, Vec::<char>::new(), "{args:?}: {shown:?}");
        assert!(!shown.contains("pwned"), "{args:?}: {shown:?}");
        assert!(
            shown.contains("⟨U+202E⟩fdp.exe⟨U+202C⟩"),
            "{args:?} shows the override: {shown:?}"
        );
    }
    let shown = home.run_on_tty(&["show", ID]).stdout();
    assert!(shown.contains("zeppelin⟨U+200B⟩"), "{shown:?}");
    assert!(shown.contains("⟨U+2067⟩safe⟨U+2069⟩"), "{shown:?}");
    assert!(shown.contains("Done⟨U+FEFF⟩."), "{shown:?}");
    assert!(!shown.contains("ZXZpbA"), "{shown:?}");
}

#[test]
fn json_and_export_keep_hostile_text_exact() {
    let home = Home::offline();
    seed_hostile(&home);
    // Piped: byte-exact.
    let export = home
        .run(&["export", ID, "--format", "json"])
        .success()
        .json();
    assert_eq!(export["conversation"]["title"], HOSTILE_TITLE);
    assert_eq!(export["messages"][1]["content"][0]["text"], HOSTILE_REPLY);
    let md = home.run(&["export", ID]).success().stdout();
    assert!(md.contains(HOSTILE_REPLY), "{md:?}");
    let list = home.run(&["list", "--json"]).success().json();
    assert_eq!(list[0]["title"], HOSTILE_TITLE);

    // On a terminal, --json is still the same JSON value, with nothing raw on the screen.
    for args in [&["show", ID, "--json"][..], &["list", "--json"][..]] {
        let run = home.run_on_tty(args);
        run.success();
        assert_clean(&run.stdout);
        let doc: Value = serde_json::from_slice(&run.stdout).expect("valid JSON");
        let title = if args[0] == "list" {
            &doc[0]["title"]
        } else {
            &doc["conversation"]["title"]
        };
        assert_eq!(title, HOSTILE_TITLE, "{args:?}");
    }
    // -o FILE writes the exact bytes.
    let file = home.path().join("out.md");
    home.run(&["export", ID, "-o", file.to_str().unwrap()])
        .success();
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(HOSTILE_REPLY)
    );
}

// ─── 28. search and NO_COLOR, list and the terminal width ───────────────────────────────

#[test]
fn search_highlights_without_escapes_under_no_color() {
    let home = Home::offline();
    seed_hostile(&home);
    let colored = home.run_on_tty(&["search", "zeppelin"]);
    assert!(
        colored.stdout().contains("\u{1b}["),
        "{:?}",
        colored.stdout()
    );
    let mut cmd = home.command(&["search", "zeppelin"]);
    cmd.env("NO_COLOR", "1");
    let run = home.run_command_on_tty(cmd, Tty::default());
    run.success();
    assert_clean(&run.stdout);
    assert!(run.stdout().contains("[zeppelin]"), "{:?}", run.stdout());
}

#[test]
fn list_fits_the_terminal_width() {
    let home = Home::offline();
    {
        let mut store = home.store();
        let title = "A very long title that goes on and on about pelicans, otters and terns until the line is far too wide";
        let c = stored::conversation("beef0000000000w1", title, stored::T0);
        store.create_conversation(&c).unwrap();
    }
    let run = home.run_command_on_tty(
        home.command(&["list"]),
        Tty {
            size: Some((72, 24)),
            ..Tty::default()
        },
    );
    run.success();
    let text = run.stdout().replace("\r\n", "\n");
    for line in text.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= 72,
            "{} columns: {line:?}",
            unicode_width::UnicodeWidthStr::width(line)
        );
    }
    assert!(text.contains("A very long title"), "{text}");
    assert!(
        text.contains('…'),
        "the cut title ends in an ellipsis: {text}"
    );
    // A pipe gets the whole title.
    let piped = home.run(&["list"]).success().stdout();
    assert!(piped.contains("until the line is far too wide"), "{piped}");
}

// ─── 5. http:// to a non-loopback host ──────────────────────────────────────────────────

fn write_config(home: &Home, text: &str) {
    let dir = home.path().join("config").join("tern");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

#[test]
fn p_warns_once_before_sending_the_key_over_plain_http_to_another_host() {
    // A non-routable address: the warning comes before the connection attempt, which gives up
    // after a second without retries.
    let home = Home::new("http://10.255.255.1:9");
    write_config(&home, "connect_timeout_secs = 1\nmax_retries = 0\n");
    let run = home.run(&["-p", "--no-save", "hello"]);
    assert!(!run.ok());
    let stderr = run.stderr();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("http://10.255.255.1:9") && warnings[0].contains("clear text"),
        "{stderr}"
    );
    assert!(
        stderr.find("warning").unwrap() < stderr.find("error").unwrap(),
        "the warning comes first: {stderr}"
    );
}

#[test]
fn plain_http_to_loopback_draws_no_warning() {
    let server = server(FakeConfig::default());
    let port = server.addr().port();
    for base in [
        server.base_url(),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ] {
        let home = Home::new(&base);
        let run = home.run(&["-p", "--no-save", "hello"]);
        assert!(
            !run.stderr().contains("clear text"),
            "{base}: {}",
            run.stderr()
        );
    }
}

fn session_for(base_url: &str) -> tern::driver::Session {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "").unwrap();
    let url = base_url.to_owned();
    let config = tern::config::Config::load_with(
        &tern::config::Overrides {
            config_file: Some(file),
            ..Default::default()
        },
        &|name| (name == "APIFREE_BASE_URL").then(|| url.clone()),
    )
    .expect("the config loads");
    tern::driver::Session::new(config, tern::driver::Start::New, time::UtcOffset::UTC, None)
        .expect("the session starts")
}

#[tokio::test]
async fn the_app_shows_the_plain_http_warning_as_a_notice() {
    let session = session_for("http://10.255.255.1:9");
    let notice = session.app.notice.as_ref().expect("a notice at start");
    assert!(
        notice.text.contains("10.255.255.1") && notice.text.contains("clear text"),
        "{}",
        notice.text
    );
    let local = session_for("http://127.0.0.1:9");
    assert!(
        local
            .app
            .notice
            .as_ref()
            .is_none_or(|n| !n.text.contains("clear text"))
    );
}
