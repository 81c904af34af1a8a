//! The [`Answer`]: everything the writer needs to answer one request, as a plain value.
//!
//! Apart from both deciding and writing, since it is the contract between them: the deciding
//! side builds one from the request and the server state, and only the writer turns it into
//! bytes on the socket.

use std::time::Duration;

use serde::Serialize;

use super::super::reply::Reply;
use super::super::wire::ApiError;

/// How a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
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
pub(super) enum SseStyle {
    /// `event: NAME\ndata: JSON\n\n`, as Anthropic sends.
    Named,
    /// `data: JSON\r\n\r\n` only, plus a `: keep-alive` comment, as some gateways send.
    DataOnlyCrlf,
}

/// Everything the writer needs to answer one request.
#[derive(Debug)]
pub(super) enum Answer {
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
    /// `body` as JSON with `status`.
    pub(super) fn json(status: u16, body: &impl Serialize) -> Answer {
        Answer::Full {
            status,
            content_type: "application/json",
            body: to_json(body),
        }
    }

    /// An Anthropic-shaped error of `error_type`.
    pub(super) fn error(
        status: u16,
        error_type: &'static str,
        message: impl Into<String>,
    ) -> Answer {
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

    /// A body sent as it is, whatever it holds.
    pub(super) fn text(status: u16, content_type: &'static str, body: &str) -> Answer {
        Answer::Full {
            status,
            content_type,
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Serializes the server's own wire types, which cannot fail (no maps with non-string keys).
pub(super) fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
