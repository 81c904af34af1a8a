//! One connection of the fake server: read the request, decide the answer, write it.
//!
//! Deciding ([`respond`]) is kept apart from writing ([`write_answer`]): the decision is a plain
//! [`Answer`] value built from the request and the server state, in the validation order the
//! real endpoint uses, and only the writer touches the socket. Faults (cut bodies, hangs,
//! mid-stream errors) are ways of writing, so they live in the writer.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use super::http::{self, Framing, ReadError};
use super::reply::{self, Block, LONG_GROUPS, Reply, SHORT_GROUPS};
use super::scenario::{Directives, Scenario};
use super::wire::{ApiError, ErrorBody, Event, ModelInfo, ModelPage};
use super::{RecordedRequest, ServerState};

/// The body of the `html-502` scenario, as nginx sends it.
const HTML_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

/// The body of the `openai-error` scenario, in OpenAI's field order.
const OPENAI_ERROR: &str = r#"{"error":{"message":"Invalid request: this error uses the OpenAI envelope (tern fake server)","type":"invalid_request_error","param":null,"code":"400"}}"#;

/// Delay between deltas for `slow` when the server has no delay configured.
const SLOW_DEFAULT_DELAY: Duration = Duration::from_millis(50);

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
        Err(error @ ReadError::TooLarge) => {
            Answer::error(413, "request_too_large", error.to_string())
        }
    };
    // A write error means the client went away; there is no one left to tell.
    let _ = write_answer(
        answer,
        &format!("req_fake_{number}"),
        &mut reader,
        &mut writer,
    )
    .await;
}

/// How a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// `message_delta` and `message_stop`, then the terminating chunk.
    Complete,
    /// After this many deltas, stop writing and close without the terminating chunk.
    CutAfter(usize),
    /// After this many deltas, an `error` event, then a clean end of body.
    ErrorAfter(usize),
    /// `message_start` and `ping`, then nothing until the client leaves.
    HangAfterOpening,
}

/// How SSE events are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SseStyle {
    /// `event: NAME\ndata: JSON\n\n`, as Anthropic sends.
    Named,
    /// `data: JSON\r\n\r\n` only, plus a `: keep-alive` comment, as some gateways send.
    DataOnlyCrlf,
}

/// Everything the writer needs to answer one request.
#[derive(Debug)]
enum Answer {
    /// An Anthropic-shaped error: the writer wraps `error` in the envelope with the request id.
    Error {
        status: u16,
        error: ApiError,
        retry_after: Option<&'static str>,
    },
    /// Any other complete body, sent with a `content-length`.
    Full {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A 200 JSON `Message`, optionally delayed, optionally cut halfway through the body.
    Message {
        reply: Reply,
        delay: Duration,
        cut: bool,
    },
    /// A 200 event stream.
    Stream {
        reply: Reply,
        delay: Duration,
        ending: Ending,
        style: SseStyle,
    },
    /// No response at all until the client leaves.
    Silence,
}

impl Answer {
    fn json(status: u16, body: &impl Serialize) -> Answer {
        Answer::Full {
            status,
            content_type: "application/json",
            body: to_json(body),
        }
    }

    fn error(status: u16, error_type: &'static str, message: impl Into<String>) -> Answer {
        Answer::Error {
            status,
            error: ApiError {
                error_type,
                message: message.into(),
                details: None,
            },
            retry_after: None,
        }
    }

    fn text(status: u16, content_type: &'static str, body: &str) -> Answer {
        Answer::Full {
            status,
            content_type,
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Serializes the server's own wire types, which cannot fail (no maps with non-string keys).
fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decides the answer to one recorded request.
fn respond(state: &ServerState, request: &RecordedRequest, number: u64) -> Answer {
    if let Some(message) = auth_error(state, request) {
        return Answer::error(401, "authentication_error", message);
    }
    let models_path = request.path.strip_prefix("/v1/models");
    match (request.method.as_str(), request.path.as_str(), models_path) {
        ("POST", "/v1/messages", _) => respond_messages(state, request, number),
        ("GET", _, Some(rest)) if state.config.models_endpoint => respond_models(state, rest),
        _ => Answer::error(
            404,
            "not_found_error",
            format!("no route for {} {}", request.method, request.path),
        ),
    }
}

/// Why the request's credentials are refused, if they are.
fn auth_error(state: &ServerState, request: &RecordedRequest) -> Option<&'static str> {
    let Some(authorization) = request.header("authorization") else {
        return Some("missing Authorization header; expected `Authorization: Bearer <key>`");
    };
    let key = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|key| !key.is_empty());
    match (key, &state.config.api_key) {
        (None, _) => Some("malformed Authorization header; expected `Bearer <key>`"),
        (Some(key), Some(expected)) if key != expected => Some("invalid API key"),
        _ => None,
    }
}

/// `GET /v1/models` (rest `""`) or `GET /v1/models/{id}` (rest `"/{id}"`).
fn respond_models(state: &ServerState, rest: &str) -> Answer {
    let models = &state.config.models;
    if rest.is_empty() || rest == "/" {
        let mut data: Vec<ModelInfo<'_>> = models.iter().map(|id| model_info(id)).collect();
        if state.config.hostile_models {
            data.extend(reply::hostile_models());
        }
        let page = ModelPage {
            data,
            first_id: models.first().map(String::as_str),
            last_id: models.last().map(String::as_str),
            has_more: false,
        };
        return Answer::json(200, &page);
    }
    let id = rest.trim_start_matches('/');
    if models.iter().any(|model| model == id) {
        Answer::json(200, &model_info(id))
    } else {
        Answer::error(404, "not_found_error", format!("model: {id} not found"))
    }
}

fn model_info(id: &str) -> ModelInfo<'_> {
    ModelInfo {
        kind: "model",
        id,
        display_name: display_name(id),
        created_at: created_at(id),
    }
}

/// `claude-opus-4.6` → `Claude Opus 4.6`.
fn display_name(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// Release dates of the default models; the epoch for others, as the real API allows.
fn created_at(id: &str) -> &'static str {
    match id {
        "claude-sonnet-4" => "2025-05-22T00:00:00Z",
        "claude-sonnet-4.5" => "2025-09-29T00:00:00Z",
        "claude-haiku-4.5" => "2025-10-15T00:00:00Z",
        "claude-opus-4.5" => "2025-11-24T00:00:00Z",
        "claude-opus-4.6" => "2026-02-04T00:00:00Z",
        "claude-sonnet-4.6" => "2026-02-17T00:00:00Z",
        _ => "1970-01-01T00:00:00Z",
    }
}

/// `POST /v1/messages`: validate, pick the scenario, plan the reply.
fn respond_messages(state: &ServerState, request: &RecordedRequest, number: u64) -> Answer {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return Answer::error(400, "invalid_request_error", "invalid JSON body");
    };
    if !body.is_object() {
        return Answer::error(
            400,
            "invalid_request_error",
            "invalid JSON body: expected an object",
        );
    }
    let Some(model) = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    else {
        return Answer::error(400, "invalid_request_error", "model: Field required");
    };
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Answer::error(400, "invalid_request_error", "messages: Field required");
    };
    if messages.is_empty() {
        return Answer::error(
            400,
            "invalid_request_error",
            "messages: at least one message is required",
        );
    }
    if !state.config.models.iter().any(|known| known == model) {
        return Answer::error(
            404,
            "not_found_error",
            format!(
                "model: {model} not found; known models: {}",
                state.config.models.join(", ")
            ),
        );
    }

    let prompt = last_user_text(messages);
    let directives = Directives::parse(&prompt);
    let scenario = match directives.scenario {
        Some(Ok(scenario)) => scenario,
        Some(Err(error)) => return Answer::error(400, "invalid_request_error", error.to_string()),
        None => state.config.default_scenario,
    };
    let turn = Turn {
        number,
        model,
        words: directives.words,
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        input_tokens: input_words(&body).max(1) as u64,
        delay: state.config.delay,
        prompt,
    };
    answer_scenario(state, &turn, scenario)
}

/// A validated `POST /v1/messages`: what the scenarios build their reply from.
struct Turn<'a> {
    number: u64,
    model: &'a str,
    prompt: String,
    /// `words:N` from the prompt.
    words: Option<usize>,
    stream: bool,
    input_tokens: u64,
    /// The server's configured delay between deltas.
    delay: Duration,
}

impl Turn<'_> {
    fn reply(&self, blocks: Vec<Block>, stop_reason: &'static str) -> Reply {
        Reply {
            id: format!("msg_fake_{}", self.number),
            model: self.model.to_string(),
            input_tokens: self.input_tokens,
            blocks,
            stop_reason,
        }
    }

    fn ok_reply(&self) -> Reply {
        let text = reply::ok_markdown(&self.prompt, self.model, self.words);
        self.reply(vec![Block::text(text, SHORT_GROUPS)], "end_turn")
    }

    /// Prose of `words:N` words (else `default_words`), split into `groups`-sized deltas.
    fn prose_reply(&self, default_words: usize, groups: &[usize]) -> Reply {
        let text = reply::prose(self.words.unwrap_or(default_words), true);
        self.reply(vec![Block::text(text, groups)], "end_turn")
    }

    /// A complete reply at the configured pace.
    fn complete(&self, reply: Reply) -> Answer {
        self.deliver(reply, self.delay, Ending::Complete, SseStyle::Named)
    }

    /// Sends `reply` as a stream or, when the request did not ask for one, as the closest
    /// non-streamed equivalent.
    fn deliver(&self, reply: Reply, delay: Duration, ending: Ending, style: SseStyle) -> Answer {
        if self.stream {
            return Answer::Stream {
                reply,
                delay,
                ending,
                style,
            };
        }
        match ending {
            Ending::Complete => Answer::Message {
                reply,
                delay,
                cut: false,
            },
            Ending::CutAfter(_) => Answer::Message {
                reply,
                delay,
                cut: true,
            },
            // A non-streamed request cannot fail mid-body; the real API answers 529.
            Ending::ErrorAfter(_) => Answer::Error {
                status: 529,
                error: reply::overloaded(),
                retry_after: None,
            },
            Ending::HangAfterOpening => Answer::Silence,
        }
    }
}

fn answer_scenario(state: &ServerState, turn: &Turn<'_>, scenario: Scenario) -> Answer {
    match scenario {
        Scenario::Ok => turn.complete(turn.ok_reply()),
        Scenario::RateLimit if state.should_fail(scenario) => Answer::Error {
            status: 429,
            error: ApiError {
                error_type: "rate_limit_error",
                message: "Number of request tokens has exceeded your per-minute rate limit"
                    .to_string(),
                details: None,
            },
            retry_after: Some("1"),
        },
        Scenario::Overloaded if state.should_fail(scenario) => Answer::Error {
            status: 529,
            error: reply::overloaded(),
            retry_after: None,
        },
        Scenario::RateLimit | Scenario::Overloaded => turn.complete(turn.ok_reply()),
        Scenario::Long => turn.complete(turn.prose_reply(2000, LONG_GROUPS)),
        Scenario::Slow => {
            let delay = if turn.delay.is_zero() {
                SLOW_DEFAULT_DELAY
            } else {
                turn.delay
            };
            let reply = turn.prose_reply(200, SHORT_GROUPS);
            turn.deliver(reply, delay, Ending::Complete, SseStyle::Named)
        }
        Scenario::Hang => turn.deliver(
            turn.ok_reply(),
            turn.delay,
            Ending::HangAfterOpening,
            SseStyle::Named,
        ),
        Scenario::Cut => {
            let reply = turn.prose_reply(60, SHORT_GROUPS);
            let half = (reply.delta_count() / 2).max(1);
            turn.deliver(reply, turn.delay, Ending::CutAfter(half), SseStyle::Named)
        }
        Scenario::MidstreamError => turn.deliver(
            turn.prose_reply(30, SHORT_GROUPS),
            turn.delay,
            Ending::ErrorAfter(3),
            SseStyle::Named,
        ),
        Scenario::SpendLimit => Answer::Error {
            status: 429,
            error: ApiError {
                error_type: "rate_limit_error",
                message: "You have reached your API usage limits. You will regain access on the 1st of next month at 00:00 UTC.".to_string(),
                details: Some(json!({"error_code": "enforced_spend_limit_reached"})),
            },
            retry_after: None,
        },
        Scenario::ServerError => Answer::error(500, "api_error", "Internal server error"),
        Scenario::Html502 => Answer::text(502, "text/html", HTML_502),
        Scenario::OpenaiError => Answer::text(400, "application/json", OPENAI_ERROR),
        Scenario::TooLarge => Answer::text(
            413,
            "text/plain; charset=utf-8",
            "413 Request Entity Too Large: the request exceeds the maximum allowed number of bytes\n",
        ),
        Scenario::Thinking => {
            let blocks = reply::thinking_blocks(&turn.prompt, turn.model);
            turn.complete(turn.reply(blocks, "end_turn"))
        }
        Scenario::ToolUse => {
            let blocks = reply::tool_use_blocks(format!("toolu_fake_{}", turn.number));
            turn.complete(turn.reply(blocks, "tool_use"))
        }
        Scenario::Escapes => {
            let blocks = vec![reply::escapes_block(turn.model)];
            turn.complete(turn.reply(blocks, "end_turn"))
        }
        Scenario::Bidi => {
            let blocks = vec![reply::bidi_block(turn.model)];
            turn.complete(turn.reply(blocks, "end_turn"))
        }
        Scenario::HostileError => Answer::Error {
            status: 400,
            error: reply::hostile_error(),
            retry_after: None,
        },
        Scenario::NoEventLines => turn.deliver(
            turn.ok_reply(),
            turn.delay,
            Ending::Complete,
            SseStyle::DataOnlyCrlf,
        ),
        Scenario::MaxTokens => {
            let text = reply::prose(turn.words.unwrap_or(60), false);
            turn.complete(turn.reply(vec![Block::text(text, SHORT_GROUPS)], "max_tokens"))
        }
    }
}

/// Calls `visit` with every piece of text in a message `content` (a string or blocks).
fn visit_text<'a>(content: &'a Value, visit: &mut impl FnMut(&'a str)) {
    match content {
        Value::String(text) => visit(text),
        Value::Array(blocks) => {
            for block in blocks {
                for key in ["text", "thinking"] {
                    if let Some(text) = block.get(key).and_then(Value::as_str) {
                        visit(text);
                    }
                }
                if let Some(nested) = block.get("content") {
                    visit_text(nested, visit);
                }
            }
        }
        _ => {}
    }
}

/// The text of the last `user` message, blocks joined by newlines.
fn last_user_text(messages: &[Value]) -> String {
    let Some(content) = messages
        .iter()
        .rev()
        .find(|message| message.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|message| message.get("content"))
    else {
        return String::new();
    };
    let mut pieces = Vec::new();
    visit_text(content, &mut |text| pieces.push(text));
    pieces.join("\n")
}

/// The fake input token count: whitespace-separated words of `system` and every message.
fn input_words(body: &Value) -> usize {
    let mut words = 0;
    let mut count = |text: &str| words += text.split_whitespace().count();
    if let Some(system) = body.get("system") {
        visit_text(system, &mut count);
    }
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            if let Some(content) = message.get("content") {
                visit_text(content, &mut count);
            }
        }
    }
    words
}

/// Writes `answer`. Returns early (dropping the connection) on any write error.
async fn write_answer<R, W>(
    answer: Answer,
    request_id: &str,
    reader: &mut R,
    writer: &mut W,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match answer {
        Answer::Error {
            status,
            error,
            retry_after,
        } => {
            let body = to_json(&ErrorBody {
                kind: "error",
                error: &error,
                request_id,
            });
            let extra: Vec<_> = retry_after
                .map(|s| ("retry-after", s))
                .into_iter()
                .collect();
            write_full(
                writer,
                status,
                "application/json",
                request_id,
                &body,
                &extra,
            )
            .await?;
        }
        Answer::Full {
            status,
            content_type,
            body,
        } => write_full(writer, status, content_type, request_id, &body, &[]).await?,
        Answer::Message { reply, delay, cut } => {
            let deltas = u32::try_from(reply.delta_count()).unwrap_or(u32::MAX);
            tokio::time::sleep(delay.saturating_mul(deltas)).await;
            let body = to_json(&reply.message());
            let head = http::response_head(
                200,
                "application/json",
                request_id,
                Framing::Length(body.len()),
                &[],
            );
            writer.write_all(head.as_bytes()).await?;
            if cut {
                writer.write_all(&body[..body.len() / 2]).await?;
                // Dropping the connection now leaves the body short of its content-length.
                return writer.flush().await;
            }
            writer.write_all(&body).await?;
        }
        Answer::Stream {
            reply,
            delay,
            ending,
            style,
        } => write_stream(&reply, delay, ending, style, request_id, reader, writer).await?,
        Answer::Silence => wait_until_closed(reader).await,
    }
    writer.flush().await
}

async fn write_stream<R, W>(
    reply: &Reply,
    delay: Duration,
    ending: Ending,
    style: SseStyle,
    request_id: &str,
    reader: &mut R,
    writer: &mut W,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let head = http::response_head(
        200,
        "text/event-stream",
        request_id,
        Framing::Chunked,
        &[("cache-control", "no-cache")],
    );
    writer.write_all(head.as_bytes()).await?;
    let mut frame = Vec::new();

    for event in reply.opening_events() {
        write_event(writer, &event, style, &mut frame).await?;
    }
    if style == SseStyle::DataOnlyCrlf {
        http::write_chunk(writer, b": keep-alive\r\n\r\n").await?;
    }
    if ending == Ending::HangAfterOpening {
        writer.flush().await?;
        wait_until_closed(reader).await;
        return Ok(());
    }

    let mut deltas_sent = 0;
    for event in reply.block_events() {
        if event.is_delta() {
            match ending {
                Ending::CutAfter(limit) if deltas_sent == limit => {
                    // Leave without the terminating chunk: the client sees a truncated body.
                    return writer.flush().await;
                }
                Ending::ErrorAfter(limit) if deltas_sent == limit => break,
                _ => {}
            }
            if !delay.is_zero() && deltas_sent > 0 {
                writer.flush().await?;
                tokio::time::sleep(delay).await;
            }
            deltas_sent += 1;
        }
        write_event(writer, &event, style, &mut frame).await?;
    }
    match ending {
        Ending::CutAfter(_) => return writer.flush().await,
        Ending::ErrorAfter(_) => {
            let error = Event::Error {
                error: reply::overloaded(),
            };
            write_event(writer, &error, style, &mut frame).await?
        }
        Ending::Complete | Ending::HangAfterOpening => {
            for event in reply.closing_events() {
                write_event(writer, &event, style, &mut frame).await?;
            }
        }
    }
    http::finish_chunks(writer).await
}

/// Writes a head with `content-length` and the whole body.
async fn write_full<W: AsyncWrite + Unpin>(
    writer: &mut W,
    status: u16,
    content_type: &str,
    request_id: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> std::io::Result<()> {
    let head = http::response_head(
        status,
        content_type,
        request_id,
        Framing::Length(body.len()),
        extra,
    );
    writer.write_all(head.as_bytes()).await?;
    writer.write_all(body).await
}

/// Writes one SSE event as one HTTP chunk, reusing `frame` as the buffer.
async fn write_event<W: AsyncWrite + Unpin>(
    writer: &mut W,
    event: &Event<'_>,
    style: SseStyle,
    frame: &mut Vec<u8>,
) -> std::io::Result<()> {
    frame.clear();
    if style == SseStyle::Named {
        frame.extend_from_slice(b"event: ");
        frame.extend_from_slice(event.name().as_bytes());
        frame.push(b'\n');
    }
    frame.extend_from_slice(b"data: ");
    serde_json::to_writer(&mut *frame, event).map_err(std::io::Error::other)?;
    frame.extend_from_slice(match style {
        SseStyle::Named => b"\n\n",
        SseStyle::DataOnlyCrlf => b"\r\n\r\n",
    });
    http::write_chunk(writer, frame).await
}

/// Reads and discards until the client closes its side (or the read fails).
async fn wait_until_closed<R: AsyncRead + Unpin>(reader: &mut R) {
    let mut sink = [0u8; 1024];
    while let Ok(read) = reader.read(&mut sink).await {
        if read == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_title_case() {
        assert_eq!(display_name("claude-opus-4.6"), "Claude Opus 4.6");
        assert_eq!(display_name(""), "");
        assert_eq!(display_name("a--b"), "A  B");
    }

    #[test]
    fn input_words_count_system_and_all_text() {
        let body = json!({
            "system": [{"type": "text", "text": "be terse"}],
            "messages": [
                {"role": "user", "content": "one two three"},
                {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "x", "content": "five six"},
                    {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
                ]},
            ],
        });
        assert_eq!(input_words(&body), 8);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(last_user_text(messages), "five six");
    }
}
