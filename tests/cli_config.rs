//! The command line and the configuration, end to end: the real binary against the fake server
//! (or a bare TCP listener where a server must misbehave below HTTP).

#[path = "common/cli.rs"]
mod cli;

use tern::fake::{FakeConfig, FakeServer};

use cli::Home;

fn server() -> FakeServer {
    FakeServer::start_background(FakeConfig::default()).expect("fake server starts")
}

fn last_body(server: &FakeServer) -> serde_json::Value {
    server
        .requests()
        .last()
        .and_then(|r| r.json())
        .expect("a JSON request was recorded")
}

/// The text of the last user message sent.
fn last_prompt(server: &FakeServer) -> String {
    let body = last_body(server);
    let messages = body["messages"].as_array().expect("messages");
    let content = &messages.last().expect("a message")["content"];
    match content {
        serde_json::Value::String(s) => s.clone(),
        blocks => blocks[0]["text"].as_str().unwrap_or_default().to_owned(),
    }
}

#[test]
fn flags_after_prompt_words_are_flags() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&["-p", "explain", "this", "-m", "claude-haiku-4.5"])
        .success();
    assert_eq!(last_prompt(&server), "explain this");
    assert_eq!(last_body(&server)["model"], "claude-haiku-4.5");

    home.run(&["-p", "a", "b", "c", "--no-save"]).success();
    assert_eq!(last_prompt(&server), "a b c");
    let listed = home.run(&["list", "--json"]);
    listed.success();
    let saved = listed.json();
    assert_eq!(
        saved.as_array().map(Vec::len),
        Some(1),
        "only the first exchange is saved: {saved}"
    );
}

#[test]
fn double_dash_ends_the_flags() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&["-p", "--", "-literal", "words", "--no-save"])
        .success();
    assert_eq!(last_prompt(&server), "-literal words --no-save");
    home.run(&["-p", "explain", "list", "files"]).success();
    assert_eq!(last_prompt(&server), "explain list files");
}

#[test]
fn piped_stdin_without_p_says_to_use_p() {
    let server = server();
    let home = Home::new(&server.base_url());
    // tern may exit before reading stdin, so a failed write is fine here.
    let mut child = home
        .command(&[])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("tern runs");
    let _ = std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"hi\n");
    let out = child.wait_with_output().expect("tern ends");
    let run = cli::Run {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    };
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr());
    let line = run.one_error_line();
    assert!(line.contains("stdin is not a terminal"), "{line}");
    assert!(line.contains("tern -p"), "{line}");
    assert!(server.requests().is_empty());
}

#[test]
fn stdout_not_a_terminal_without_p_says_so() {
    let server = server();
    let home = Home::new(&server.base_url());
    let (_master, slave) = cli::open_pty();
    let out = home
        .command(&[])
        .stdin(std::process::Stdio::from(slave))
        .output()
        .expect("tern runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stdout is not a terminal"), "{stderr}");
    assert!(stderr.contains("-p"), "{stderr}");
}

#[test]
fn words_without_p_are_not_dropped_silently() {
    let server = server();
    let home = Home::new(&server.base_url());
    let run = home.run(&["what", "is", "this"]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr());
    let line = run.one_error_line();
    assert!(line.contains("`what is this`"), "{line}");
    assert!(line.contains("tern -p \"what is this\""), "{line}");
    assert!(line.contains("list"), "names the commands: {line}");
    assert!(server.requests().is_empty());
}
