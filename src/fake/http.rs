//! Just enough HTTP/1.1 for the fake server: read one request, write one response, close.
//!
//! Hand-written rather than built on an HTTP crate so the server controls the bytes on the wire:
//! a streamed body is `Transfer-Encoding: chunked`, and a "cut" scenario can stop writing without
//! the terminating chunk, which a client sees as a truncated body, exactly like a dropped
//! connection. Every response carries `Connection: close`, so there is no keep-alive state.

use std::fmt::Write as _;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::RecordedRequest;

/// Request heads larger than this are refused.
const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// Request bodies larger than this are refused (the Messages API's limit, 32 MB).
const MAX_BODY_BYTES: u64 = 32 * 1000 * 1000;
/// How much of a refused body is read and thrown away so the client, still sending, reads
/// the refusal instead of a reset connection; past this the connection is just closed.
const MAX_DRAINED_BYTES: u64 = 256 * 1024 * 1024;

/// The first header called `name` (case-insensitive) in `headers`.
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Why a request could not be read; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The client closed the connection before sending a full request head.
    #[error("connection closed before a request arrived")]
    Closed,
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("request body exceeds {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one request from `reader`. `writer` is needed only to answer `Expect: 100-continue`
/// (curl sends it for bodies over 1 KiB).
pub(crate) async fn read_request<R, W>(
    reader: &mut R,
    writer: &mut W,
) -> Result<RecordedRequest, ReadError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    // One limit for the request line and the headers together.
    let mut head = (&mut *reader).take(MAX_HEAD_BYTES);
    let mut line = Vec::new();
    let (method, path, query) = read_request_line(&mut head, &mut line).await?;
    let headers = read_headers(&mut head, &mut line).await?;

    let chunked = find_header(&headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = match find_header(&headers, "content-length") {
        _ if chunked => None,
        None => Some(0),
        Some(value) => Some(
            value
                .parse::<u64>()
                .map_err(|_| ReadError::Malformed("content-length"))?,
        ),
    };
    let expects_continue =
        find_header(&headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if length.is_some_and(|length| length > MAX_BODY_BYTES) {
        // A client that waits for `100 Continue` sends nothing more after a refusal.
        if !expects_continue {
            drain(reader, length.unwrap_or_default()).await?;
        }
        return Err(ReadError::TooLarge);
    }
    if expects_continue {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        writer.flush().await?;
    }

    let body = match length {
        None => read_chunked_body(reader).await?,
        Some(length) => read_sized_body(reader, length).await?,
    };

    Ok(RecordedRequest {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// The request line's method, path and query (`line` is a reusable buffer). RFC 9112 lets a
/// server skip blank lines before it.
async fn read_request_line<R: AsyncBufRead + Unpin>(
    head: &mut R,
    line: &mut Vec<u8>,
) -> Result<(String, String, Option<String>), ReadError> {
    loop {
        line.clear();
        if head.read_until(b'\n', line).await? == 0 {
            return Err(ReadError::Closed);
        }
        if !trim_line_end(line).is_empty() {
            break;
        }
    }
    let request_line = std::str::from_utf8(trim_line_end(line))
        .map_err(|_| ReadError::Malformed("request line"))?;
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(_version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed("request line"));
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (target.to_string(), None),
    };
    Ok((method.to_string(), path, query))
}

/// The headers up to the blank line, names lowercased (`line` is a reusable buffer).
async fn read_headers<R: AsyncBufRead + Unpin>(
    head: &mut R,
    line: &mut Vec<u8>,
) -> Result<Vec<(String, String)>, ReadError> {
    let mut headers = Vec::new();
    loop {
        line.clear();
        if head.read_until(b'\n', line).await? == 0 {
            return Err(ReadError::Malformed(
                "request head ended early or is too large",
            ));
        }
        let text = trim_line_end(line);
        if text.is_empty() {
            return Ok(headers);
        }
        let text = std::str::from_utf8(text).map_err(|_| ReadError::Malformed("header"))?;
        let (name, value) = text.split_once(':').ok_or(ReadError::Malformed("header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

/// Reads and throws away up to `length` bytes (at most [`MAX_DRAINED_BYTES`]) of a body
/// that is refused, holding none of it.
async fn drain<R: AsyncBufRead + Unpin>(reader: &mut R, length: u64) -> std::io::Result<()> {
    tokio::io::copy(
        &mut (&mut *reader).take(length.min(MAX_DRAINED_BYTES)),
        &mut tokio::io::sink(),
    )
    .await
    .map(drop)
}

/// A body of `length` bytes (at most [`MAX_BODY_BYTES`]), refused when cut short.
async fn read_sized_body<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    length: u64,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    (&mut *reader).take(length).read_to_end(&mut body).await?;
    if (body.len() as u64) < length {
        return Err(ReadError::Malformed("body shorter than content-length"));
    }
    Ok(body)
}

/// A chunked body. One larger than [`MAX_BODY_BYTES`] is still read to its end (up to
/// [`MAX_DRAINED_BYTES`]) but not kept, then refused.
async fn read_chunked_body<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut total: u64 = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        (&mut *reader)
            .take(1024)
            .read_until(b'\n', &mut line)
            .await?;
        let size_text = std::str::from_utf8(trim_line_end(&line))
            .map_err(|_| ReadError::Malformed("chunk size"))?;
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size =
            u64::from_str_radix(size_hex, 16).map_err(|_| ReadError::Malformed("chunk size"))?;
        if size == 0 {
            break;
        }
        total = total.saturating_add(size);
        if total > MAX_DRAINED_BYTES {
            return Err(ReadError::TooLarge);
        }
        if total > MAX_BODY_BYTES {
            body = Vec::new();
            drain(reader, size).await?;
        } else {
            let before = body.len();
            (&mut *reader).take(size).read_to_end(&mut body).await?;
            if ((body.len() - before) as u64) < size {
                return Err(ReadError::Malformed("chunk shorter than its size"));
            }
        }
        line.clear();
        (&mut *reader).take(2).read_until(b'\n', &mut line).await?;
    }
    // Trailer section, up to the blank line.
    loop {
        line.clear();
        let read = (&mut *reader)
            .take(MAX_HEAD_BYTES)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 || trim_line_end(&line).is_empty() {
            break;
        }
    }
    if total > MAX_BODY_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(body)
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The reason phrase for the statuses the fake server sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        529 => "Overloaded",
        _ => "Unknown",
    }
}

/// How the body after the head is framed.
pub(crate) enum Framing {
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Formats a response head. `extra` headers come after the standard ones.
pub(crate) fn response_head(
    status: u16,
    content_type: &str,
    request_id: &str,
    framing: Framing,
    extra: &[(&str, &str)],
) -> String {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\nrequest-id: {request_id}\r\n",
        reason(status)
    );
    for (name, value) in extra {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    match framing {
        Framing::Length(length) => {
            let _ = write!(head, "content-length: {length}\r\n");
        }
        Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
    }
    head.push_str("connection: close\r\n\r\n");
    head
}

/// Writes `data` as one chunk of a chunked body (nothing for empty data: a zero-size chunk
/// would end the body).
pub(crate) async fn write_chunk<W: AsyncWrite + Unpin>(
    writer: &mut W,
    data: &[u8],
) -> std::io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    writer
        .write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await?;
    writer.write_all(data).await?;
    writer.write_all(b"\r\n").await
}

/// Writes the terminating zero-size chunk: the body is complete.
pub(crate) async fn finish_chunks<W: AsyncWrite + Unpin>(writer: &mut W) -> std::io::Result<()> {
    writer.write_all(b"0\r\n\r\n").await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8]) -> Result<RecordedRequest, ReadError> {
        let mut reader = tokio::io::BufReader::new(raw);
        read_request(&mut reader, &mut tokio::io::sink()).await
    }

    #[tokio::test]
    async fn parses_content_length_request() {
        let request = parse(
            b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 2\r\n\r\n{}",
        )
        .await
        .unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/messages");
        assert_eq!(request.query.as_deref(), Some("beta=true"));
        assert_eq!(request.header("AUTHORIZATION"), Some("Bearer k"));
        assert_eq!(request.headers[0].0, "host");
        assert_eq!(request.body, b"{}");
    }

    #[tokio::test]
    async fn parses_chunked_request() {
        let request = parse(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n",
        )
        .await
        .unwrap();
        assert_eq!(request.body, b"abcde");
    }

    #[tokio::test]
    async fn rejects_garbage_without_panicking() {
        assert!(matches!(parse(b"").await, Err(ReadError::Closed)));
        assert!(matches!(
            parse(b"GET\r\n\r\n").await,
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nno colon\r\n\r\n").await,
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\nabc").await,
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\ncontent-length: 999999999999\r\n\r\n").await,
            Err(ReadError::TooLarge)
        ));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n").await,
            Err(ReadError::Malformed(_))
        ));
    }

    /// `raw` read as a request, and what is left unread after it.
    async fn parse_with_rest(raw: &[u8]) -> (Result<RecordedRequest, ReadError>, Vec<u8>) {
        let mut reader = tokio::io::BufReader::new(raw);
        let request = read_request(&mut reader, &mut tokio::io::sink()).await;
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
        (request, rest)
    }

    fn chunked(chunks: usize, chunk: usize) -> Vec<u8> {
        let mut raw = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..chunks {
            raw.extend_from_slice(format!("{chunk:x}\r\n").as_bytes());
            raw.resize(raw.len() + chunk, b' ');
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\nNEXT");
        raw
    }

    #[tokio::test]
    async fn a_body_over_32_mb_is_read_to_its_end_and_refused() {
        let length = MAX_BODY_BYTES as usize;
        for (extra, too_large) in [(0, false), (1, true)] {
            let mut raw = format!(
                "POST / HTTP/1.1\r\ncontent-length: {}\r\n\r\n",
                length + extra
            )
            .into_bytes();
            raw.resize(raw.len() + length + extra, b' ');
            raw.extend_from_slice(b"NEXT");
            let (request, rest) = parse_with_rest(&raw).await;
            assert_eq!(matches!(request, Err(ReadError::TooLarge)), too_large);
            assert_eq!(rest, b"NEXT", "the whole body was read");
        }

        let (request, rest) = parse_with_rest(&chunked(32, 1_000_000)).await;
        assert_eq!(request.unwrap().body.len(), 32_000_000);
        assert_eq!(rest, b"NEXT");
        let (request, rest) = parse_with_rest(&chunked(33, 1_000_000)).await;
        assert!(matches!(request, Err(ReadError::TooLarge)));
        assert_eq!(rest, b"NEXT", "the whole body was read");
    }

    #[tokio::test]
    async fn a_client_that_waits_to_send_a_body_too_large_is_refused_at_once() {
        let raw = b"POST / HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 40000000\r\n\r\n";
        let mut reader = tokio::io::BufReader::new(&raw[..]);
        let mut written = Vec::new();
        let request = read_request(&mut reader, &mut written).await;
        assert!(matches!(request, Err(ReadError::TooLarge)));
        assert!(written.is_empty(), "no 100 Continue");
    }

    #[test]
    fn head_has_framing_and_close() {
        let head = response_head(
            429,
            "application/json",
            "req_fake_1",
            Framing::Length(5),
            &[("retry-after", "1")],
        );
        assert_eq!(
            head,
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nrequest-id: req_fake_1\r\nretry-after: 1\r\ncontent-length: 5\r\nconnection: close\r\n\r\n"
        );
    }
}
