//! Every request field beyond the prompt, end to end: what the config file and the `-p` flags
//! put in the body the fake server receives, the API's rules for thinking (what is left out,
//! said on stderr), and the auth header.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/cli.rs"]
mod cli;

use serde_json::json;

use cli::{Home, Run, last_body, server};

/// Run `tern ARGS` in `home` with `config` as its config file.
fn with_config(home: &Home, config: &str, args: &[&str]) -> Run {
    let path = home.path().join("request-config.toml");
    std::fs::write(&path, config).unwrap();
    let mut all = vec!["--config", path.to_str().unwrap()];
    all.extend_from_slice(args);
    home.run(&all)
}

#[test]
fn config_fields_reach_the_body() {
    let server = server();
    let home = Home::new(&server.base_url());
    let config = r####"
model = "claude-sonnet-4.6"
max_tokens = 8000
thinking = 2048
effort = "low"
stop_sequences = ["###", "END"]
user_id = "3f1c0c3e"
service_tier = "standard_only"

[extra_body]
provider = { order = ["anthropic"] }
"####;
    let run = with_config(&home, config, &["-p", "hi"]);
    run.success();
    let body = last_body(&server);
    assert_eq!(
        body["thinking"],
        json!({"type":"enabled","budget_tokens":2048})
    );
    assert_eq!(body["output_config"], json!({"effort":"low"}));
    assert_eq!(body["stop_sequences"], json!(["###", "END"]));
    assert_eq!(body["metadata"], json!({"user_id":"3f1c0c3e"}));
    assert_eq!(body["service_tier"], "standard_only");
    assert_eq!(body["provider"], json!({"order":["anthropic"]}));
    assert_eq!(body["max_tokens"], 8000);
    assert!(run.stderr().is_empty(), "{}", run.stderr());
}

#[test]
fn extra_body_cannot_replace_a_known_field() {
    let server = server();
    let home = Home::new(&server.base_url());
    let config = "top_k = 7\n[extra_body]\ntop_k = 99\nmodel = \"other\"\nroute = \"eu\"\n";
    let run = with_config(&home, config, &["-p", "hi"]);
    run.success();
    let body = last_body(&server);
    assert_eq!(body["top_k"], 7);
    assert_eq!(body["model"], "claude-sonnet-4.6");
    assert_eq!(body["route"], "eu");
    let stderr = run.stderr();
    assert!(stderr.contains("extra_body.top_k"), "{stderr}");
    assert!(stderr.contains("extra_body.model"), "{stderr}");
    assert_eq!(stderr.matches("extra_body.top_k").count(), 1, "{stderr}");
}

#[test]
fn flags_set_thinking_effort_stop_and_top_k() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&[
        "-p", "hi", "--stop", "###", "--stop", "END", "--top-k", "5", "--effort", "max",
    ])
    .success();
    let body = last_body(&server);
    assert_eq!(body["stop_sequences"], json!(["###", "END"]));
    assert_eq!(body["top_k"], 5);
    assert_eq!(body["output_config"], json!({"effort":"max"}));
    assert!(body.get("thinking").is_none(), "{body}");

    home.run(&["-p", "hi", "--thinking", "adaptive"]).success();
    assert_eq!(last_body(&server)["thinking"], json!({"type":"adaptive"}));
}

#[test]
fn adaptive_and_effort_only_where_the_model_takes_them() {
    let server = server();
    let home = Home::new(&server.base_url());
    let run = home.run(&[
        "-p",
        "hi",
        "-m",
        "claude-haiku-4.5",
        "--thinking",
        "adaptive",
        "--effort",
        "high",
    ]);
    run.success();
    let body = last_body(&server);
    assert_eq!(
        body["thinking"],
        json!({"type":"enabled","budget_tokens":2048}),
        "half of max_tokens 4096"
    );
    assert!(body.get("output_config").is_none(), "{body}");
    let stderr = run.stderr();
    assert!(stderr.contains("no adaptive thinking"), "{stderr}");
    assert!(stderr.contains("takes no effort"), "{stderr}");

    // Opus 4.5 takes effort, but not `max`.
    let run = home.run(&["-p", "hi", "-m", "claude-opus-4.5", "--effort", "max"]);
    assert!(last_body(&server).get("output_config").is_none());
    assert!(run.stderr().contains("no effort max"), "{}", run.stderr());

    // The file can say what a model takes.
    let config =
        "[models.\"my-gateway-model\"]\nadaptive_thinking = true\neffort_levels = [\"low\"]\n";
    let run = with_config(
        &home,
        config,
        &[
            "-p",
            "hi",
            "-m",
            "my-gateway-model",
            "--thinking",
            "adaptive",
            "--effort",
            "low",
        ],
    );
    // The fake server knows no such model; what matters is what was sent.
    assert!(!run.stderr().contains("note:"), "{}", run.stderr());
    let body = last_body(&server);
    assert_eq!(body["thinking"], json!({"type":"adaptive"}));
    assert_eq!(body["output_config"], json!({"effort":"low"}));
}

#[test]
fn sampling_with_thinking_is_left_out_and_said() {
    let server = server();
    let home = Home::new(&server.base_url());
    let run = home.run(&[
        "-p",
        "hi",
        "--thinking",
        "1024",
        "--temperature",
        "0.3",
        "--top-p",
        "0.5",
        "--top-k",
        "40",
    ]);
    run.success();
    let body = last_body(&server);
    for field in ["temperature", "top_p", "top_k"] {
        assert!(body.get(field).is_none(), "{field} was sent: {body}");
    }
    let stderr = run.stderr();
    for field in ["temperature 0.3", "top_p 0.5", "top_k 40"] {
        assert!(stderr.contains(field), "{field}: {stderr}");
    }
    // A top_p from 0.95 to 1 stays.
    home.run(&["-p", "hi", "--thinking", "1024", "--top-p", "0.97"])
        .success();
    assert_eq!(last_body(&server)["top_p"], 0.97);
}

#[test]
fn a_budget_must_be_below_max_tokens() {
    let home = Home::offline();
    let run = home.run(&["-p", "hi", "--thinking", "4096"]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr());
    let line = run.one_error_line();
    assert!(line.contains("thinking"), "{line}");
    assert!(line.contains("max_tokens (4096)"), "{line}");
    let run = with_config(&home, "thinking = 512\n", &["-p", "hi"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        run.one_error_line().contains("at least 1024"),
        "{}",
        run.stderr()
    );
    let run = with_config(&home, "thinking = \"on\"\n", &["-p", "hi"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(run.one_error_line().contains("line 1"), "{}", run.stderr());
}

#[test]
fn x_api_key_auth_sends_the_key_there_only() {
    let server = server();
    let home = Home::new(&server.base_url());
    let _ = with_config(&home, "auth = \"x-api-key\"\n", &["-p", "hi"]);
    let request = server.requests().pop().unwrap();
    assert_eq!(request.header("x-api-key"), Some("k"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));

    with_config(&home, "auth = \"bearer\"\n", &["-p", "hi"]).success();
    let request = server.requests().pop().unwrap();
    assert_eq!(request.header("authorization"), Some("Bearer k"));
    assert_eq!(request.header("x-api-key"), None);
}

#[test]
fn continuing_keeps_the_conversation_params() {
    let server = server();
    let home = Home::new(&server.base_url());
    home.run(&[
        "-p",
        "one",
        "--max-tokens",
        "8000",
        "--thinking",
        "2048",
        "--stop",
        "END",
    ])
    .success();
    home.run(&["-c", "-p", "two"]).success();
    let body = last_body(&server);
    assert_eq!(
        body["thinking"],
        json!({"type":"enabled","budget_tokens":2048})
    );
    assert_eq!(body["stop_sequences"], json!(["END"]));
    home.run(&["-c", "-p", "three", "--thinking", "off"])
        .success();
    assert!(last_body(&server).get("thinking").is_none());
}
