//! Every way a request can fail, as one typed error with a human message.
//!
//! Callers match on [`ApiError`] (retry policy, UI error blocks, exit codes); people read
//! [`ApiError::headline`], [`ApiError::details`] and [`ApiError::advice`]. Error bodies are parsed
//! leniently: the Anthropic envelope, then the OpenAI envelope, then raw text (an HTML page from a
//! proxy is summarised by its title, never dumped).

use std::time::Duration;

use serde_json::Value;

/// A non-2xx HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError {
    pub status: u16,
    pub error_type: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    /// From `retry-after-ms` / `retry-after`.
    pub retry_after: Option<Duration>,
    /// `x-should-retry`, which overrides the status-based rule when present.
    pub should_retry: Option<bool>,
    /// The 429 that no retry can fix (`enforced_spend_limit_reached`).
    pub spend_limit: bool,
}

impl StatusError {
    /// Whether this is the API's answer to an unknown model (a 404 whose message names the
    /// model, as `model: ID` does) rather than to a wrong URL (a 404 about the path, or a bare
    /// page from whatever answers there).
    pub fn names_model(&self) -> bool {
        self.status == 404
            && self.error_type.is_some()
            && self
                .message
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains("model"))
    }
}

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    Connect,
    /// Waiting for the response headers.
    Response,
    /// No bytes arrived on an open stream.
    Idle,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{}", one_line(self))]
    Status(Box<StatusError>),
    #[error("{}", one_line(self))]
    Stream {
        error_type: String,
        message: String,
        request_id: Option<String>,
    },
    #[error("{}", one_line(self))]
    Truncated {
        request_id: Option<String>,
        detail: Option<String>,
    },
    #[error("{}", one_line(self))]
    Connect { url: String, detail: String },
    /// An `https://` URL whose server answered the TLS handshake in plain text.
    #[error("{}", one_line(self))]
    NotTls { url: String },
    #[error("{}", one_line(self))]
    Timeout {
        phase: TimeoutPhase,
        after: Duration,
        request_id: Option<String>,
    },
    #[error("{}", one_line(self))]
    Protocol(String),
    #[error("{}", one_line(self))]
    MissingKey,
    #[error("{}", one_line(self))]
    KeyCommand(String),
    /// The key holds bytes that cannot go into the `Authorization` header.
    #[error("{}", one_line(self))]
    InvalidKey,
    /// An attachment could not be put into the request (its bytes are gone from the store).
    #[error("{}", one_line(self))]
    Attachment(String),
}

fn one_line(err: &ApiError) -> String {
    let mut line = err.headline();
    let details = err.details();
    if !details.is_empty() {
        line.push_str(" (");
        line.push_str(&details.join(", "));
        line.push(')');
    }
    line
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "",
    }
}

impl ApiError {
    /// What happened, in words.
    pub fn headline(&self) -> String {
        match self {
            ApiError::Status(e) => {
                let html_or_plain = e.error_type.is_none();
                match e.status {
                    400 => "the server rejected the request as invalid".into(),
                    401 => "authentication failed: the API key was not accepted".into(),
                    402 => "billing problem: the account cannot be charged".into(),
                    403 => "permission denied: this key may not use that resource".into(),
                    404 if e.names_model() => "model not found".into(),
                    404 => {
                        "not found: the server has no such endpoint (is the base URL right?)".into()
                    }
                    408 => "the server timed out waiting for the request".into(),
                    409 => "conflict at the server".into(),
                    413 => "the request is too large for the server".into(),
                    429 if e.spend_limit => "the account's spend limit has been reached".into(),
                    429 => "rate limited: too many requests".into(),
                    529 => "the API is overloaded".into(),
                    s @ 500..=599 if html_or_plain => {
                        format!("the gateway returned {s} {}", reason_phrase(s))
                            .trim_end()
                            .into()
                    }
                    500 => "the server had an internal error".into(),
                    s => format!("the server answered HTTP {s} {}", reason_phrase(s))
                        .trim_end()
                        .into(),
                }
            }
            ApiError::Stream { error_type, .. } if error_type == "overloaded_error" => {
                "the API became overloaded mid-reply".into()
            }
            ApiError::Stream { .. } => "the server reported an error mid-reply".into(),
            ApiError::Truncated { .. } => {
                "the reply was cut off: the connection closed before the server finished".into()
            }
            ApiError::Connect { url, .. } => format!("could not connect to {url}"),
            ApiError::NotTls { url } => {
                let origin = origin(url);
                format!(
                    "the server at {origin} does not speak TLS: it answered in plain HTTP \
                     (for a plain-HTTP server use http://{})",
                    origin.trim_start_matches("https://")
                )
            }
            ApiError::Timeout { phase, after, .. } => match phase {
                TimeoutPhase::Connect => format!("connecting timed out after {}s", after.as_secs()),
                TimeoutPhase::Response => {
                    format!("no response from the server within {}s", after.as_secs())
                }
                TimeoutPhase::Idle => format!(
                    "the reply stalled: nothing arrived for {}s",
                    after.as_secs()
                ),
            },
            ApiError::Protocol(_) => "the server sent a response tern cannot read".into(),
            ApiError::MissingKey => "no API key is set".into(),
            ApiError::KeyCommand(_) => "the api_key_command failed".into(),
            ApiError::InvalidKey => {
                "the API key cannot be sent: it holds characters not allowed in an HTTP header"
                    .into()
            }
            ApiError::Attachment(_) => "an attachment could not be sent".into(),
        }
    }

    /// Supporting facts: status and type, the server's message, the request id.
    pub fn details(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut request = None;
        match self {
            ApiError::Status(e) => {
                let mut status = format!("HTTP {}", e.status);
                if let Some(t) = &e.error_type {
                    status.push(' ');
                    status.push_str(t);
                }
                out.push(status);
                if let Some(m) = e.message.as_deref().filter(|m| !m.is_empty()) {
                    out.push(format!("server said: {m}"));
                }
                if let Some(after) = e.retry_after {
                    out.push(format!("retry after {}s", after.as_secs_f64().ceil()));
                }
                request = e.request_id.as_deref();
            }
            ApiError::Stream {
                error_type,
                message,
                request_id,
            } => {
                out.push(error_type.clone());
                if !message.is_empty() {
                    out.push(format!("server said: {message}"));
                }
                request = request_id.as_deref();
            }
            ApiError::Truncated { request_id, detail } => {
                if let Some(d) = detail {
                    out.push(d.clone());
                }
                request = request_id.as_deref();
            }
            ApiError::Connect { detail, .. } => out.push(detail.clone()),
            ApiError::NotTls { .. } => {}
            ApiError::Timeout { request_id, .. } => request = request_id.as_deref(),
            ApiError::Protocol(detail)
            | ApiError::KeyCommand(detail)
            | ApiError::Attachment(detail) => out.push(detail.clone()),
            ApiError::MissingKey | ApiError::InvalidKey => {}
        }
        if let Some(id) = request {
            out.push(format!("request-id {id}"));
        }
        out
    }

    /// What the user can do about it.
    pub fn advice(&self) -> &'static str {
        match self {
            ApiError::Status(e) => match e.status {
                401 => "check APIFREE_API_KEY (or api_key / api_key_command in config.toml)",
                402 | 403 => "check the account and key permissions with the provider",
                404 if e.names_model() => {
                    "pick another model (Ctrl+P in the app, `tern models` in the shell)"
                }
                404 => {
                    "check APIFREE_BASE_URL (or base_url in config.toml): tern adds /v1/messages \
                     to it, so give the part before /v1"
                }
                400 | 413 => "check the model, parameters and message size, then retry",
                429 if e.spend_limit => "retrying will not help until the limit resets",
                429 | 529 | 408 | 409 => "wait a moment, then retry",
                _ => "retry in a moment; if it persists, check the service status",
            },
            ApiError::Timeout {
                phase: TimeoutPhase::Response,
                ..
            } => {
                "retry; if the server needs longer to start its reply, raise \
                 first_byte_timeout_secs (idle_timeout_secs with --no-stream) in config.toml"
            }
            ApiError::Stream { .. } | ApiError::Truncated { .. } | ApiError::Timeout { .. } => {
                "retry"
            }
            ApiError::Connect { .. } => "check APIFREE_BASE_URL and the network, then retry",
            ApiError::NotTls { .. } => {
                "fix the scheme in APIFREE_BASE_URL (or base_url in config.toml)"
            }
            ApiError::Protocol(_) => "check that APIFREE_BASE_URL points at a Messages API",
            ApiError::MissingKey => {
                "set APIFREE_API_KEY, or api_key / api_key_command in config.toml"
            }
            ApiError::KeyCommand(_) => {
                "run the api_key_command from config.toml in a shell to see why (tern uses \
                 the first line it prints)"
            }
            ApiError::InvalidKey => {
                "check APIFREE_API_KEY, api_key or what api_key_command prints: one line, no \
                 control characters"
            }
            ApiError::Attachment(_) => {
                "edit the prompt without it (/edit), or start a new conversation with the file"
            }
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status(e) => Some(e.status),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Status(e) => e.request_id.as_deref(),
            ApiError::Stream { request_id, .. }
            | ApiError::Truncated { request_id, .. }
            | ApiError::Timeout { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn error_type(&self) -> Option<&str> {
        match self {
            ApiError::Status(e) => e.error_type.as_deref(),
            ApiError::Stream { error_type, .. } => Some(error_type),
            _ => None,
        }
    }

    /// Attach the request id once it is known (stream errors are raised before it is).
    pub fn with_request_id(mut self, id: Option<&str>) -> Self {
        if let (
            ApiError::Stream { request_id, .. }
            | ApiError::Truncated { request_id, .. }
            | ApiError::Timeout { request_id, .. },
            Some(id),
        ) = (&mut self, id)
            && request_id.is_none()
        {
            *request_id = Some(id.to_owned());
        }
        self
    }

    /// The official SDKs' retry rule, for failures before any reply text arrived: the server's
    /// `x-should-retry` if sent, else 408, 409, 429 and 5xx; connection failures and connect or
    /// response-header timeouts too; never a spend-limit 429 or an idle stream.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Status(e) => {
                if e.spend_limit {
                    return false;
                }
                if let Some(should) = e.should_retry {
                    return should;
                }
                matches!(e.status, 408 | 409 | 429) || e.status >= 500
            }
            ApiError::Connect { .. } => true,
            ApiError::Timeout { phase, .. } => *phase != TimeoutPhase::Idle,
            _ => false,
        }
    }
}

/// `scheme://host:port` of a URL (the part a TLS problem is about).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// Build a [`StatusError`] from a response's status, headers and body.
pub fn status_error(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> ApiError {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut error = StatusError {
        status,
        error_type: None,
        message: None,
        request_id: header("request-id")
            .or_else(|| header("x-request-id"))
            .map(str::to_owned),
        retry_after: retry_after(header("retry-after-ms"), header("retry-after")),
        should_retry: header("x-should-retry").and_then(|v| match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }),
        spend_limit: false,
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(json) if json.get("error").is_some() => {
            let inner = &json["error"];
            // Anthropic: {"type":"error","error":{"type","message"},"request_id"}
            // OpenAI:    {"error":{"message","type","code"}}; some proxies put a bare string.
            error.error_type = inner
                .get("type")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty() && *t != "None")
                .map(str::to_owned);
            error.message = inner
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| inner.as_str())
                .map(str::to_owned);
            if error.request_id.is_none() {
                error.request_id = json
                    .get("request_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            error.spend_limit = inner.pointer("/details/error_code").and_then(Value::as_str)
                == Some("enforced_spend_limit_reached");
        }
        Ok(json) => {
            error.message = json
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        Err(_) => error.message = summarize_text_body(body),
    }
    ApiError::Status(Box::new(error))
}

/// A readable one-line summary of a non-JSON body: an HTML page's `<title>`, else its first line.
fn summarize_text_body(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    if lower.contains("<html") || lower.contains("<!doctype") {
        let start = lower.find("<title>")? + "<title>".len();
        let end = lower[start..].find("</title>")? + start;
        let title = text[start..end].trim();
        return (!title.is_empty()).then(|| format!("an HTML page titled \"{title}\""));
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let clean = crate::sanitize::strip_controls(line);
    let mut short: String = clean.chars().take(200).collect();
    if clean.chars().count() > 200 {
        short.push('…');
    }
    Some(short)
}

fn retry_after(ms: Option<&str>, secs: Option<&str>) -> Option<Duration> {
    if let Some(ms) = ms.and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let secs = secs?.trim();
    if let Ok(s) = secs.parse::<f64>() {
        return (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s));
    }
    let when = httpdate(secs)?;
    let now = time::OffsetDateTime::now_utc();
    Some(Duration::try_from(when - now).unwrap_or(Duration::ZERO))
}

fn httpdate(s: &str) -> Option<time::OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(s, &format)
        .ok()
        .map(|t| t.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn anthropic_envelope() {
        let err = status_error(
            401,
            &headers(&[("request-id", "req_1")]),
            br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        );
        assert_eq!(
            err.to_string(),
            "authentication failed: the API key was not accepted (HTTP 401 authentication_error, server said: invalid x-api-key, request-id req_1)"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn html_502_reads_as_gateway_error() {
        let body =
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>";
        let err = status_error(502, &HeaderMap::new(), body);
        let line = err.to_string();
        assert!(
            line.starts_with("the gateway returned 502 Bad Gateway"),
            "{line}"
        );
        assert!(!line.contains("<html"), "{line}");
        assert!(err.is_retryable());
    }

    #[test]
    fn openai_envelope_and_request_id_in_body() {
        let err = status_error(
            400,
            &HeaderMap::new(),
            br#"{"error":{"message":"bad model","type":"None","param":"None","code":"400"},"request_id":"r9"}"#,
        );
        assert_eq!(err.error_type(), None);
        assert!(err.to_string().contains("server said: bad model"));
        assert_eq!(err.request_id(), Some("r9"));
    }

    #[test]
    fn model_404() {
        let err = status_error(
            404,
            &HeaderMap::new(),
            br#"{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}"#,
        );
        assert!(err.to_string().starts_with("model not found"));
    }

    #[test]
    fn a_404_names_the_model_or_the_url() {
        let model = status_error(
            404,
            &HeaderMap::new(),
            br#"{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}"#,
        );
        assert!(model.advice().contains("model"), "{}", model.advice());
        let openai = status_error(
            404,
            &HeaderMap::new(),
            br#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
        );
        assert!(openai.to_string().starts_with("model not found"));
        for body in [
            &br#"{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}"#[..],
            b"<html><head><title>404 Not Found</title></head></html>",
            b"",
        ] {
            let path = status_error(404, &HeaderMap::new(), body);
            assert!(path.to_string().contains("base URL"), "{path}");
            assert!(
                path.advice().contains("APIFREE_BASE_URL"),
                "{}",
                path.advice()
            );
        }
    }

    #[test]
    fn spend_limit_is_never_retried() {
        let err = status_error(
            429,
            &HeaderMap::new(),
            br#"{"type":"error","error":{"type":"rate_limit_error","message":"limit","details":{"error_code":"enforced_spend_limit_reached"}}}"#,
        );
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("spend limit"));
    }

    #[test]
    fn retry_rules() {
        for (status, retry) in [
            (408, true),
            (409, true),
            (429, true),
            (500, true),
            (529, true),
            (400, false),
            (404, false),
        ] {
            assert_eq!(
                status_error(status, &HeaderMap::new(), b"").is_retryable(),
                retry,
                "{status}"
            );
        }
        let no = status_error(503, &headers(&[("x-should-retry", "false")]), b"");
        assert!(!no.is_retryable());
        let yes = status_error(400, &headers(&[("x-should-retry", "true")]), b"");
        assert!(yes.is_retryable());
    }

    #[test]
    fn retry_after_headers() {
        assert_eq!(
            retry_after(Some("1500"), Some("9")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(None, Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(None, Some("soon")), None);
    }
}
