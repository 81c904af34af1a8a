//! `tern -p` end to end: the real binary against the fake server on 127.0.0.1.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/cli.rs"]
mod cli;

use tern::fake::{FakeConfig, FakeServer};

use cli::{Home, Run, last_body, run_command};

fn server(key: Option<&str>) -> FakeServer {
    FakeServer::start_background(FakeConfig {
        api_key: key.map(str::to_owned),
        ..FakeConfig::default()
    })
    .expect("fake server starts")
}

/// Run `tern` with an isolated home (no user config, no saved data), the key `key` and
/// optional stdin, against `server`.
fn tern(server: &FakeServer, key: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let home = Home::new(&server.base_url());
    let mut cmd = home.command(args);
    cmd.env("APIFREE_API_KEY", key);
    run_command(cmd, stdin)
}

#[test]
fn streams_the_reply_and_sends_the_right_request() {
    let server = server(Some("k"));
    let run = tern(&server, "k", &["-p", "hi there"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("hi there"), "{}", run.stdout());
    assert!(run.stdout().ends_with('\n'));
    let requests = server.requests();
    let request = requests.last().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(request.header("authorization"), Some("Bearer k"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("anthropic-beta"), None);
    let body = request.json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "claude-sonnet-4.6");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(
        body["messages"],
        serde_json::json!([{"role":"user","content":"hi there"}])
    );
    for unset in [
        "system",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "metadata",
    ] {
        assert!(body.get(unset).is_none(), "{unset} was sent: {body}");
    }
}

#[test]
fn flags_and_stdin_reach_the_request() {
    let server = server(None);
    let run = tern(
        &server,
        "k",
        &[
            "-m",
            "claude-haiku-4.5",
            "-s",
            "be terse",
            "--max-tokens",
            "77",
            "--temperature",
            "0.5",
            "--top-p",
            "0.9",
            "-p",
            "summarise",
        ],
        Some("piped text\n"),
    );
    assert!(run.ok(), "stderr: {}", run.stderr());
    let body = last_body(&server);
    assert_eq!(body["model"], "claude-haiku-4.5");
    assert_eq!(body["system"], "be terse");
    assert_eq!(body["max_tokens"], 77);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["messages"][0]["content"], "piped text\n\nsummarise");
}

#[test]
fn no_stream_sends_a_plain_request() {
    let server = server(None);
    let run = tern(&server, "k", &["--no-stream", "-p", "hello"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("hello"));
    assert!(last_body(&server).get("stream").is_none());
}

#[test]
fn stdin_alone_is_the_prompt() {
    let server = server(None);
    let run = tern(&server, "k", &["-p"], Some("only stdin"));
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert_eq!(last_body(&server)["messages"][0]["content"], "only stdin");
}

#[test]
fn empty_prompt_is_a_usage_error() {
    let server = server(None);
    let run = tern(&server, "k", &["-p"], None);
    assert_eq!(run.status.code(), Some(2));
    assert!(run.stderr().contains("nothing to send"));
    assert!(server.requests().is_empty());
}

/// One clear line on stderr, non-zero exit, no raw JSON, no panic.
fn assert_clean_failure(run: &Run, expect: &[&str]) {
    assert!(!run.ok());
    let stderr = run.stderr();
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("tern: error:"))
        .collect();
    assert_eq!(error_lines.len(), 1, "stderr: {stderr}");
    for word in expect {
        assert!(
            error_lines[0].contains(word),
            "missing {word:?} in {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("{\""), "raw JSON in {stderr}");
    assert!(!stderr.contains("<html"), "raw HTML in {stderr}");
}

#[test]
fn wrong_key() {
    let server = server(Some("right"));
    let run = tern(&server, "wrong", &["-p", "hi"], None);
    assert_clean_failure(
        &run,
        &[
            "authentication failed",
            "401",
            "request-id req_fake_",
            "APIFREE_API_KEY",
        ],
    );
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

#[test]
fn missing_key_names_the_variable() {
    let server = server(None);
    let run = tern(&server, "", &["-p", "hi"], None);
    assert_clean_failure(&run, &["no API key", "APIFREE_API_KEY"]);
}

#[test]
fn unknown_model() {
    let server = server(None);
    let run = tern(&server, "k", &["-m", "claude-nope", "-p", "hi"], None);
    assert_clean_failure(
        &run,
        &["model not found", "404", "claude-nope", "request-id"],
    );
}

#[test]
fn html_502_reads_as_gateway_error() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:html-502"], None);
    assert_clean_failure(&run, &["the gateway returned 502 Bad Gateway"]);
    assert_eq!(server.requests().len(), 3, "two retries");
    assert_eq!(run.stderr().matches("retrying in").count(), 2);
}

#[test]
fn midstream_error_keeps_the_partial_text() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:midstream-error"], None);
    assert_clean_failure(&run, &["overloaded", "request-id"]);
    assert!(!run.stdout().is_empty(), "the partial reply was printed");
}

#[test]
fn cut_connection_is_a_truncation() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:cut words:200"], None);
    assert_clean_failure(&run, &["cut off"]);
}

#[test]
fn rate_limit_then_success_reports_the_wait() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:rate-limit"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("rate limited") && stderr.contains("retrying in 1.0s (retry 1/2)"),
        "{stderr}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("x-stainless-retry-count"), Some("1"));
}

#[test]
fn overloaded_twice_then_success() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:overloaded"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert_eq!(
        run.stderr().matches("overloaded; retrying").count(),
        2,
        "{}",
        run.stderr()
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn spend_limit_is_not_retried() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:spend-limit"], None);
    assert_clean_failure(&run, &["spend limit"]);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn gateway_without_event_lines_still_works() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "hello scenario:no-event-lines"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("hello"));
}

#[test]
fn a_hung_stream_times_out() {
    let server = server(None);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "idle_timeout_secs = 1\n").unwrap();
    let config = config.to_string_lossy().into_owned();
    let run = tern(
        &server,
        "k",
        &["--config", &config, "-p", "x scenario:hang"],
        None,
    );
    assert_clean_failure(&run, &["stalled", "nothing arrived for 1s"]);
}

#[test]
fn broken_config_is_a_clear_error() {
    let server = server(None);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "model = \"x\"\nmax_tokenz = 1\n").unwrap();
    let config = config.to_string_lossy().into_owned();
    let run = tern(&server, "k", &["--config", &config, "-p", "hi"], None);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        run.stderr().contains("line 2") && run.stderr().contains("max_tokenz"),
        "{}",
        run.stderr()
    );
}

#[test]
fn models_lists_the_endpoint_models() {
    let server = server(None);
    let run = tern(&server, "k", &["models"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("claude-opus-4.6"));
    assert!(run.stdout().contains("claude-sonnet-4.6  (default)"));
    assert_eq!(server.requests()[0].path, "/v1/models");
}

#[test]
fn help_lists_the_interface() {
    let server = server(None);
    let run = tern(&server, "k", &["--help"], None);
    assert!(run.ok());
    for word in [
        "--print",
        "--continue",
        "--resume",
        "--model",
        "--system",
        "--max-tokens",
        "--temperature",
        "--top-p",
        "--no-stream",
        "list",
        "show",
        "search",
        "export",
        "models",
        "APIFREE_API_KEY",
    ] {
        assert!(run.stdout().contains(word), "--help lacks {word}");
    }
}
