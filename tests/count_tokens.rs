//! Counting input tokens before sending (`POST /v1/messages/count_tokens`): the client against
//! the fake server (a count, an endpoint that is not there, a failure that says nothing of
//! the endpoint), and the app end to end: the fake hears the counts, and an endpoint without
//! it is asked once, ever, across runs sharing a store.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "common/session.rs"]
mod session;

use std::time::Duration;

use serde_json::Value;
use tern::api::types::{MessageContent, SystemPrompt};
use tern::api::{
    ApiError, ApiKey, AuthScheme, Client, ClientConfig, MessagesRequest, RequestMessage,
};
use tern::fake::{FakeConfig, FakeServer};

fn client(server: &FakeServer) -> Client {
    Client::new(ClientConfig {
        base_url: server.base_url(),
        api_key: ApiKey::new("test-key"),
        auth: AuthScheme::Bearer,
        anthropic_version: "2023-06-01".into(),
        anthropic_beta: vec![],
        connect_timeout: Duration::from_secs(10),
        first_byte_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        max_retries: 2,
    })
    .unwrap()
}

/// A Messages request with every field count_tokens refuses set.
fn request(model: &str) -> MessagesRequest {
    MessagesRequest {
        model: model.into(),
        messages: vec![
            RequestMessage::user("one two three"),
            RequestMessage::assistant_blocks(vec![tern::api::ContentBlock::text("four five")]),
            RequestMessage {
                role: tern::api::Role::User,
                content: MessageContent::Text("six seven".into()),
            },
        ],
        system: Some(SystemPrompt::Text("be brief".into())),
        max_tokens: 1024,
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(5),
        stream: Some(true),
        stop_sequences: Some(vec!["END".into()]),
        metadata: Some(serde_json::json!({"user_id": "u1"})),
        service_tier: Some("auto".into()),
        ..Default::default()
    }
}

fn count_bodies(server: &FakeServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/messages/count_tokens")
        .map(|r| r.json().unwrap())
        .collect()
}

async fn fake(count_tokens_endpoint: bool) -> FakeServer {
    FakeServer::start(FakeConfig {
        count_tokens_endpoint,
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_client_counts_the_request_without_the_fields_the_endpoint_refuses() {
    let server = fake(true).await;
    let request = request(common::DEFAULT_MODEL);
    let counted = client(&server).count_tokens(&request).await.unwrap();
    // The fake counts a word a token: the system prompt and every turn.
    assert_eq!(counted, Some(9));
    let bodies = count_bodies(&server);
    assert_eq!(bodies.len(), 1, "one try");
    let body = bodies[0].as_object().unwrap();
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["messages", "model", "system"]);
}

#[tokio::test]
async fn an_endpoint_without_count_tokens_is_none() {
    let server = fake(false).await;
    let counted = client(&server)
        .count_tokens(&request(common::DEFAULT_MODEL))
        .await
        .unwrap();
    assert_eq!(counted, None);
    assert_eq!(count_bodies(&server).len(), 1, "one try, no retries");
}

#[tokio::test]
async fn an_unknown_model_is_an_error_not_a_missing_endpoint() {
    // The API answers an unknown model with a 404 `not_found_error` too: that says nothing of
    // the endpoint.
    let server = fake(true).await;
    let err = client(&server)
        .count_tokens(&request("no-such-model"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Status(e) if e.status == 404),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_error_is_an_error_without_retries() {
    // A listener that answers every request with a 500.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = vec![0; 65536];
            let _ = socket.read(&mut buf).await;
            let body = r#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#;
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let mut config = client(&fake(true).await).config().clone();
    config.base_url = url;
    let err = Client::new(config)
        .unwrap()
        .count_tokens(&request(common::DEFAULT_MODEL))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Status(e) if e.status == 500),
        "{err:?}"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_store_keeps_what_an_endpoint_lacks_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    let url = "http://gw.example";
    {
        let store = tern::store::Store::open(&path).unwrap();
        let fact = store.endpoint_fact(url, tern::store::NO_COUNT_TOKENS);
        assert_eq!(fact.unwrap(), None);
    }
    let writer = tern::store::StoreWriter::spawn(&path).unwrap();
    for value in ["present", "absent"] {
        writer
            .write(tern::store::WriteCommand::SetEndpointFact {
                base_url: url.into(),
                fact: tern::store::NO_COUNT_TOKENS.into(),
                value: value.into(),
                at_ms: 1,
            })
            .unwrap();
    }
    writer.flush().await.unwrap();
    drop(writer);
    let store = tern::store::Store::open(&path).unwrap();
    let fact = store.endpoint_fact(url, tern::store::NO_COUNT_TOKENS);
    assert_eq!(
        fact.unwrap().as_deref(),
        Some("absent"),
        "the last one wins"
    );
    let other = store.endpoint_fact("http://other", tern::store::NO_COUNT_TOKENS);
    assert_eq!(other.unwrap(), None, "per base URL");
}
