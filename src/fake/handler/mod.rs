//! One connection of the fake server: read the request, decide the answer, write it.
//!
//! Deciding is kept apart from writing: the decision is a plain [`Answer`] value
//! (`answer.rs`) built from the request and the server state, in the validation order the real
//! endpoint uses (this file routes and authenticates; `messages.rs` validates a message
//! request, `media.rs` its images and documents, and `scenarios.rs` answers it; `models.rs`
//! lists models), and only the writer (`write.rs`) touches the socket. Faults (cut bodies,
//! hangs, mid-stream errors) are ways of writing, so they live in the writer.

mod answer;
mod media;
mod messages;
mod models;
mod scenarios;
mod validate;
mod write;

use std::sync::Arc;

use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpStream;

use super::http::{self, ReadError};
use super::{RecordedRequest, ServerState};
use answer::Answer;

/// Serves one connection: one request, one response, then close.
pub(crate) async fn serve_connection(stream: TcpStream, state: Arc<ServerState>) {
    let (read_half, write_half) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    let mut writer = BufWriter::new(write_half);
    let read = http::read_request(&mut reader, &mut writer).await;
    let number = state.next_request_number();
    let answer = match read {
        Ok(request) => {
            state.record(request.clone());
            respond(&state, &request, number)
        }
        Err(ReadError::Closed | ReadError::Io(_)) => return,
        Err(error @ ReadError::Malformed(_)) => {
            Answer::error(400, "invalid_request_error", error.to_string())
        }
        // As the API's edge sends it, before the key is even looked at.
        Err(ReadError::TooLarge) => Answer::error(
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
    };
    // A write error means the client went away; there is no one left to tell.
    let _ = write::write_answer(
        answer,
        &format!("req_fake_{number}"),
        &mut reader,
        &mut writer,
    )
    .await;
}

/// Decides the answer to one recorded request.
fn respond(state: &ServerState, request: &RecordedRequest, number: u64) -> Answer {
    if let Some(message) = auth_error(state, request) {
        return Answer::error(401, "authentication_error", message);
    }
    let models_path = request.path.strip_prefix("/v1/models");
    match (request.method.as_str(), request.path.as_str(), models_path) {
        ("POST", "/v1/messages", _) => messages::respond_messages(state, request, number),
        ("POST", "/v1/messages/count_tokens", _) if state.config.count_tokens_endpoint => {
            messages::respond_count_tokens(state, request)
        }
        ("GET", _, Some(rest)) if state.config.models_endpoint => {
            models::respond_models(state, rest)
        }
        _ => Answer::error(
            404,
            "not_found_error",
            format!("no route for {} {}", request.method, request.path),
        ),
    }
}

/// Why the request's credentials are refused, if they are. The key may come as
/// `Authorization: Bearer KEY` or as `x-api-key: KEY`, as the real API accepts both.
fn auth_error(state: &ServerState, request: &RecordedRequest) -> Option<&'static str> {
    let key = match (request.header("authorization"), request.header("x-api-key")) {
        (None, None) => {
            return Some(
                "missing credentials; expected `Authorization: Bearer <key>` or `x-api-key: <key>`",
            );
        }
        (Some(authorization), _) => authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or("malformed Authorization header; expected `Bearer <key>`"),
        (None, Some(key)) => Some(key.trim())
            .filter(|key| !key.is_empty())
            .ok_or("empty x-api-key header"),
    };
    match (key, &state.config.api_key) {
        (Err(message), _) => Some(message),
        (Ok(key), Some(expected)) if key != expected => Some("invalid API key"),
        _ => None,
    }
}
