//! The command line and the configuration, end to end: the real binary against the fake server
//! (or a bare TCP listener where a server must misbehave below HTTP).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/session.rs"]
mod session;

use tern::fake::{FakeConfig, FakeServer};

use cli::{Home, last_body, server};

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

/// A plain-HTTP server on 127.0.0.1 that answers every connection with a 400, as an HTTP server
/// does to a TLS handshake; its address.
fn plain_http_listener() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    addr
}

#[test]
fn https_to_a_plain_http_server_says_it_does_not_speak_tls() {
    let addr = plain_http_listener();
    let home = Home::new(&format!("https://{addr}"));
    let run = home.run(&["-p", "hi", "--no-save"]);
    let stderr = run.stderr();
    assert!(!run.ok());
    assert!(stderr.contains("does not speak TLS"), "{stderr}");
    assert!(
        stderr.contains(&format!("http://{addr}")),
        "suggests http: {stderr}"
    );
    assert!(!stderr.contains("InvalidContentType"), "{stderr}");
    assert!(!stderr.contains("retrying"), "not retried: {stderr}");
}

#[test]
fn a_base_url_ending_in_v1_is_accepted() {
    let server = server();
    for base in [
        format!("{}/v1", server.base_url()),
        format!("{}/v1/", server.base_url()),
    ] {
        let home = Home::new(&base);
        home.run(&["-p", "hi", "--no-save"]).success();
        assert_eq!(server.requests().last().unwrap().path, "/v1/messages");
        home.run(&["models"]).success();
        assert_eq!(server.requests().last().unwrap().path, "/v1/models");
    }
}

#[test]
fn a_404_for_a_wrong_path_blames_the_url_not_the_model() {
    let server = server();
    let home = Home::new(&format!("{}/api", server.base_url()));
    let line = home.run(&["-p", "hi", "--no-save"]).one_error_line();
    assert_eq!(server.requests().last().unwrap().path, "/api/v1/messages");
    assert!(line.contains("base URL"), "{line}");
    assert!(line.contains("APIFREE_BASE_URL"), "{line}");
    assert!(
        !line.to_lowercase().contains("pick another model"),
        "{line}"
    );
}

#[test]
fn a_404_for_an_unknown_model_blames_the_model() {
    let server = server();
    let home = Home::new(&server.base_url());
    let line = home
        .run(&["-p", "hi", "-m", "claude-nope", "--no-save"])
        .one_error_line();
    assert!(line.contains("model not found"), "{line}");
    assert!(line.contains("claude-nope"), "{line}");
    assert!(line.contains("pick another model"), "{line}");
    assert!(!line.contains("APIFREE_BASE_URL"), "{line}");
}

#[test]
fn sampling_flags_outside_zero_to_one_are_refused() {
    let server = server();
    let home = Home::new(&server.base_url());
    let run = home.run(&["-p", "hi", "--temperature", "1.5"]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr());
    assert!(run.stderr().contains("from 0 to 1"), "{}", run.stderr());
    assert!(server.requests().is_empty());
    home.run(&["-p", "hi", "--temperature", "1", "--top-p", "0.9"])
        .success();
    assert_eq!(last_body(&server)["temperature"], 1.0);
}

/// Run `tern ARGS` in `home` with `config` as its config file and no key in the environment.
fn run_with_config(home: &Home, config: &str, args: &[&str]) -> cli::Run {
    let path = home.path().join("test-config.toml");
    std::fs::write(&path, config).expect("config written");
    // Private, as a file holding a key should be (else tern warns).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let path = path.to_string_lossy().into_owned();
    let mut all = vec!["--config", path.as_str()];
    all.extend_from_slice(args);
    let out = home
        .command(&all)
        .env_remove("APIFREE_API_KEY")
        .output()
        .expect("tern runs");
    cli::Run {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

#[test]
fn api_key_command_uses_the_first_line() {
    let server = FakeServer::start_background(FakeConfig {
        api_key: Some("sk-first".into()),
        ..FakeConfig::default()
    })
    .expect("fake server starts");
    let home = Home::new(&server.base_url());
    // `pass show` prints the secret, then metadata lines.
    let config = "api_key_command = \"printf 'sk-first\\\\nlogin: me\\\\nurl: x\\\\n'\"\n";
    run_with_config(&home, config, &["-p", "hi", "--no-save"]).success();
    let request = server.requests().pop().expect("a request");
    assert_eq!(request.header("authorization"), Some("Bearer sk-first"));
}

#[test]
fn a_failing_api_key_command_is_reported_as_its_own_failure() {
    let server = server();
    let home = Home::new(&server.base_url());
    let config = "api_key_command = \"echo 'gpg: decryption failed: No secret key' >&2; exit 3\"\n";
    let line = run_with_config(&home, config, &["-p", "hi", "--no-save"]).one_error_line();
    assert!(line.contains("api_key_command"), "{line}");
    assert!(line.contains("exited with status 3"), "{line}");
    assert!(
        line.contains("gpg: decryption failed: No secret key"),
        "{line}"
    );
    assert!(
        !line.contains("server"),
        "does not blame the server: {line}"
    );

    let line =
        run_with_config(&home, "api_key_command = \"exit 3\"\n", &["-p", "hi"]).one_error_line();
    assert!(line.contains("exited with status 3"), "{line}");
    assert!(
        !line.contains(": )") && !line.contains(":)"),
        "no dangling colon: {line}"
    );
    assert!(!line.contains("status: "), "{line}");

    let line =
        run_with_config(&home, "api_key_command = \"true\"\n", &["-p", "hi"]).one_error_line();
    assert!(line.contains("printed nothing"), "{line}");
    assert!(server.requests().is_empty());
}

#[test]
fn a_broken_config_does_not_block_read_only_commands() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&["-p", "remember the pelican"]).success();
    let broken = "model = \"x\"\nmax_tokenz = 1\n";
    for args in [
        &["list"][..],
        &["search", "pelican"],
        &["models"],
        &["list", "--json"],
    ] {
        let run = run_with_config(&home, broken, args);
        run.success();
        let stderr = run.stderr();
        assert!(stderr.contains("tern: warning:"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("line 2") && stderr.contains("max_tokenz"),
            "{stderr}"
        );
        assert!(stderr.contains("built-in defaults"), "{stderr}");
    }
    let listed = run_with_config(&home, broken, &["list", "--json"]).json();
    let id = listed[0]["id"].as_str().expect("an id").to_owned();
    run_with_config(&home, broken, &["show", &id]).success();
    run_with_config(&home, broken, &["export", &id]).success();

    // Commands that send still refuse the broken file.
    let run = run_with_config(&home, broken, &["-p", "hi"]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr());
    assert!(run.stderr().contains("max_tokenz"), "{}", run.stderr());
}

/// A server on 127.0.0.1 that accepts connections, reads the request and never answers; its
/// address and a count of the connections it accepted.
fn silent_listener() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            // Hold the connection open, reading whatever comes, until the client hangs up.
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    (addr, accepted)
}

#[test]
fn a_server_that_never_answers_hits_the_first_byte_timeout_and_each_retry_shows() {
    let (addr, accepted) = silent_listener();
    let home = Home::new(&format!("http://{addr}"));
    let config = "api_key = \"k\"\nfirst_byte_timeout_secs = 1\nmax_retries = 2\n";
    let run = run_with_config(&home, config, &["-p", "hi", "--no-save"]);
    assert!(!run.ok());
    let stderr = run.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "two retry notices, then the error: {stderr}"
    );
    for (line, retry) in lines[..2].iter().zip(["retry 1/2", "retry 2/2"]) {
        assert!(
            line.starts_with("tern: no response from the server within 1s"),
            "{line}"
        );
        assert!(line.contains(retry), "{line}");
    }
    assert!(
        lines[2].starts_with("tern: error: no response from the server within 1s"),
        "{stderr}"
    );
    assert!(
        lines[2].contains("first_byte_timeout_secs"),
        "says what to raise: {stderr}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_shows_each_retry_of_a_first_byte_timeout() {
    use tern::config::{Config, Overrides};
    let (addr, _) = silent_listener();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "first_byte_timeout_secs = 1\nmax_retries = 1\n").unwrap();
    let url = format!("http://{addr}");
    let config = Config::load_with(
        &Overrides {
            config_file: Some(file),
            ..Overrides::default()
        },
        &|name| match name {
            "APIFREE_BASE_URL" => Some(url.clone()),
            "APIFREE_API_KEY" => Some("k".to_owned()),
            _ => None,
        },
    )
    .expect("the config loads");
    let app = tern::driver::Session::new(
        config,
        tern::driver::Start::New,
        time::UtcOffset::UTC,
        Some(dir.path().join("tern.db")),
    )
    .expect("the session starts");
    session::drive(app, |mut user| async move {
        user.send("hello");
        let text = user.wait_text("retry 1/1 in").await;
        let status = session::status_line(&text);
        assert!(
            status.contains("no response from the server within 1s"),
            "{status}"
        );
        user.wait_text("first_byte_timeout_secs").await;
        user.ctrl('q');
        user
    })
    .await;
}
