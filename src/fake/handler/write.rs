//! Writing an [`Answer`] on the socket: full bodies, JSON messages, event streams.
//!
//! Faults (cut bodies, hangs, mid-stream errors) are ways of writing, so they live here and
//! not in the decision; every function returns early, dropping the connection, on a write
//! error (the client went away).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::super::http::{self, Framing};
use super::super::reply::{self, Reply};
use super::super::wire::{ApiError, ErrorBody, Event};
use super::answer::{Answer, Ending, SseStyle, to_json};

/// Writes `answer`. Returns early (dropping the connection) on any write error.
pub(super) async fn write_answer<R, W>(
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
        } => write_error(writer, status, &error, retry_after, request_id).await?,
        Answer::Full {
            status,
            content_type,
            body,
        } => write_full(writer, status, content_type, request_id, &body, &[]).await?,
        Answer::Message { reply, delay, cut } => {
            write_message(writer, &reply, delay, cut, request_id).await?
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

/// `error` in the Anthropic envelope, with a `retry-after` when there is one.
async fn write_error<W: AsyncWrite + Unpin>(
    writer: &mut W,
    status: u16,
    error: &ApiError,
    retry_after: Option<&str>,
    request_id: &str,
) -> std::io::Result<()> {
    let body = to_json(&ErrorBody {
        kind: "error",
        error,
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
    .await
}

/// A non-streamed reply, after as long as its deltas would have taken; with `cut`, only the
/// first half of its body before the connection drops.
async fn write_message<W: AsyncWrite + Unpin>(
    writer: &mut W,
    reply: &Reply,
    delay: Duration,
    cut: bool,
    request_id: &str,
) -> std::io::Result<()> {
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
        // Dropping the connection after this leaves the body short of its content-length.
        return writer.write_all(&body[..body.len() / 2]).await;
    }
    writer.write_all(&body).await
}

/// An event stream: the opening events, the block events (one pause between deltas), then the
/// ending: the closing events, an error event, a cut, or a hang after the opening.
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
    if write_block_events(reply, delay, ending, style, writer, &mut frame).await? == Cut::Yes {
        // Leave without the terminating chunk: the client sees a truncated body.
        return writer.flush().await;
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

/// Whether the stream was cut short while writing its block events.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    Yes,
    No,
}

/// The reply's block events, `delay` between deltas, stopping early for a cut or an error.
async fn write_block_events<W: AsyncWrite + Unpin>(
    reply: &Reply,
    delay: Duration,
    ending: Ending,
    style: SseStyle,
    writer: &mut W,
    frame: &mut Vec<u8>,
) -> std::io::Result<Cut> {
    let mut deltas_sent: usize = 0;
    // Each delta is due `delay` after the one before it on a fixed schedule, so the pace does
    // not drift by the timer's slack (2,000 deltas at 100 a second take 20 s, not 22).
    let start = tokio::time::Instant::now();
    for event in reply.block_events() {
        if event.is_delta() {
            match ending {
                Ending::CutAfter(limit) if deltas_sent == limit => return Ok(Cut::Yes),
                Ending::ErrorAfter(limit) if deltas_sent == limit => break,
                _ => {}
            }
            if !delay.is_zero() && deltas_sent > 0 {
                writer.flush().await?;
                tokio::time::sleep_until(
                    start + delay.saturating_mul(u32::try_from(deltas_sent).unwrap_or(u32::MAX)),
                )
                .await;
            }
            deltas_sent += 1;
        }
        write_event(writer, &event, style, frame).await?;
    }
    Ok(Cut::No)
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
