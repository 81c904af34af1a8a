//! HTTP for the Messages API: headers, retries, timeouts, and the streaming body.
//!
//! Retries follow the official SDKs (408, 409, 429, 5xx and connection failures, as
//! `x-should-retry` and `retry-after` allow, with capped exponential backoff) and happen only
//! before a 200 arrives, so they can never repeat reply text. Cancelling is dropping: dropping a [`MessageStream`] (or the
//! task that owns it) drops the response body, which closes the connection at once.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::error::{ApiError, TimeoutPhase, status_error};
use super::stream::{EventDecoder, StreamEvent};
use super::types::{Message, MessagesRequest, ModelInfo};

/// The API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Which header carries the key: `Authorization: Bearer KEY` (APIFree, gateways) or
/// `x-api-key: KEY` (what `api.anthropic.com` documents for API keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub enum AuthScheme {
    #[default]
    #[serde(rename = "bearer")]
    Bearer,
    #[serde(rename = "x-api-key")]
    XApiKey,
}

/// Everything the client needs to talk to one endpoint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub api_key: ApiKey,
    pub auth: AuthScheme,
    pub anthropic_version: String,
    pub anthropic_beta: Vec<String>,
    pub connect_timeout: Duration,
    /// How long a streamed request (or the model list) may wait for the response headers.
    pub first_byte_timeout: Duration,
    /// No bytes for this long mid-stream is a timeout; also the wait for a whole non-streamed
    /// reply, whose headers come only when it is complete.
    pub idle_timeout: Duration,
    pub max_retries: u32,
}

/// A retry about to happen, for the user to see.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryNotice {
    /// 1 for the first retry.
    pub attempt: u32,
    pub max_retries: u32,
    pub delay: Duration,
    pub cause: ApiError,
}

impl fmt::Display for RetryNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; retrying in {:.1}s (retry {}/{})",
            self.cause.headline(),
            self.delay.as_secs_f64(),
            self.attempt,
            self.max_retries
        )
    }
}

/// The longest server-requested wait tern honours; longer ones end the retries.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("tern/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client { http, config })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", normalize_base_url(&self.config.base_url))
    }

    fn headers(&self) -> Result<HeaderMap, ApiError> {
        let mut headers = HeaderMap::new();
        let key = self.config.api_key.expose();
        let (name, value) = match self.config.auth {
            AuthScheme::Bearer => (AUTHORIZATION, format!("Bearer {key}")),
            AuthScheme::XApiKey => (HeaderName::from_static("x-api-key"), key.to_owned()),
        };
        let mut auth = HeaderValue::from_str(&value).map_err(|_| ApiError::InvalidKey)?;
        auth.set_sensitive(true);
        headers.insert(name, auth);
        let version = HeaderValue::from_str(&self.config.anthropic_version)
            .map_err(|_| ApiError::Protocol("anthropic_version is not a valid header".into()))?;
        headers.insert("anthropic-version", version);
        if !self.config.anthropic_beta.is_empty() {
            let beta = HeaderValue::from_str(&self.config.anthropic_beta.join(","))
                .map_err(|_| ApiError::Protocol("anthropic_beta is not a valid header".into()))?;
            headers.insert("anthropic-beta", beta);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(headers)
    }

    fn map_send_error(&self, url: &str, err: reqwest::Error, first_byte: Duration) -> ApiError {
        if err.is_timeout() {
            return ApiError::Timeout {
                phase: if err.is_connect() {
                    TimeoutPhase::Connect
                } else {
                    TimeoutPhase::Response
                },
                after: if err.is_connect() {
                    self.config.connect_timeout
                } else {
                    first_byte
                },
                request_id: None,
            };
        }
        if answered_tls_in_plain_text(&err) {
            return ApiError::NotTls {
                url: without_credentials(url),
            };
        }
        ApiError::Connect {
            url: without_credentials(url),
            detail: root_cause(&err),
        }
    }

    /// One attempt: send, wait up to `first_byte` for headers, turn a non-2xx into an error.
    async fn attempt(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&[u8]>,
        first_byte: Duration,
        retry_count: u32,
    ) -> Result<reqwest::Response, ApiError> {
        let url = self.url(path);
        let mut request = self
            .http
            .request(method, &url)
            .headers(self.headers()?)
            .header("x-stainless-retry-count", retry_count.to_string());
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        let response = tokio::time::timeout(first_byte, request.send())
            .await
            .map_err(|_| ApiError::Timeout {
                phase: TimeoutPhase::Response,
                after: first_byte,
                request_id: None,
            })?
            .map_err(|e| self.map_send_error(&url, e, first_byte))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(self.config.idle_timeout, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Err(status_error(status, &headers, &body))
    }

    /// Send with the SDK retry policy; `on_retry` hears about each wait before it starts.
    async fn send_with_retries(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&[u8]>,
        first_byte: Duration,
        on_retry: &mut (dyn FnMut(&RetryNotice) + Send),
    ) -> Result<reqwest::Response, ApiError> {
        let mut retries = 0;
        loop {
            match self
                .attempt(method.clone(), path, body, first_byte, retries)
                .await
            {
                Ok(response) => return Ok(response),
                Err(err) if err.is_retryable() && retries < self.config.max_retries => {
                    let delay = match &err {
                        ApiError::Status(e) => match e.retry_after {
                            Some(after) if after > MAX_RETRY_AFTER => return Err(err),
                            Some(after) => after,
                            None => backoff(retries),
                        },
                        _ => backoff(retries),
                    };
                    retries += 1;
                    on_retry(&RetryNotice {
                        attempt: retries,
                        max_retries: self.config.max_retries,
                        delay,
                        cause: err,
                    });
                    tokio::time::sleep(delay).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn body_of(request: &MessagesRequest, stream: bool) -> Result<Vec<u8>, ApiError> {
        let wanted = stream.then_some(true);
        // A long conversation's request is megabytes: copied only when `stream` must change.
        let encoded = if request.stream == wanted {
            serde_json::to_vec(request)
        } else {
            let mut request = request.clone();
            request.stream = wanted;
            serde_json::to_vec(&request)
        };
        encoded.map_err(|e| ApiError::Protocol(format!("cannot encode the request: {e}")))
    }

    /// Start a streamed reply (`"stream": true`).
    pub async fn stream(
        &self,
        request: &MessagesRequest,
        on_retry: &mut (dyn FnMut(&RetryNotice) + Send),
    ) -> Result<MessageStream, ApiError> {
        let body = Self::body_of(request, true)?;
        let response = self
            .send_with_retries(
                reqwest::Method::POST,
                "/v1/messages",
                Some(&body),
                self.config.first_byte_timeout,
                on_retry,
            )
            .await?;
        let request_id = request_id_of(response.headers());
        Ok(MessageStream {
            body: response,
            decoder: EventDecoder::new(),
            pending: VecDeque::new(),
            failed: None,
            eof: false,
            idle_timeout: self.config.idle_timeout,
            request_id,
            finished: false,
        })
    }

    /// A whole reply in one JSON body (no streaming).
    pub async fn create(
        &self,
        request: &MessagesRequest,
        on_retry: &mut (dyn FnMut(&RetryNotice) + Send),
    ) -> Result<Message, ApiError> {
        let body = Self::body_of(request, false)?;
        // The headers of a non-streamed reply come only once it is complete.
        let response = self
            .send_with_retries(
                reqwest::Method::POST,
                "/v1/messages",
                Some(&body),
                self.config.idle_timeout,
                on_retry,
            )
            .await?;
        let request_id = request_id_of(response.headers());
        let bytes = response.bytes().await.map_err(|e| ApiError::Truncated {
            request_id: request_id.clone(),
            detail: Some(root_cause(&e)),
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::Protocol(format!("the reply is not a Messages response ({e})")))
    }

    /// `POST /v1/messages/count_tokens`: the input tokens `request` would take. One try, within
    /// [`COUNT_TOKENS_TIMEOUT`], no retries (a count is a hint, never worth a wait).
    /// `Ok(None)` when the endpoint does not exist there (see [`is_absent_endpoint`]).
    ///
    /// The body is the request's own, limited to the fields the endpoint takes (it refuses
    /// `max_tokens`, `stream`, sampling, `stop_sequences`, `metadata`, `service_tier` and
    /// unknown keys as extra inputs): so `extra_body` fields do not reach it either.
    pub async fn count_tokens(&self, request: &MessagesRequest) -> Result<Option<u64>, ApiError> {
        let body = count_tokens_body(request)?;
        let call = async {
            let response = self
                .attempt(
                    reqwest::Method::POST,
                    "/v1/messages/count_tokens",
                    Some(&body),
                    COUNT_TOKENS_TIMEOUT,
                    0,
                )
                .await;
            let response = match response {
                Ok(response) => response,
                Err(ApiError::Status(e)) if is_absent_endpoint(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            let count: Value = response
                .json()
                .await
                .map_err(|e| ApiError::Protocol(format!("the token count is not JSON ({e})")))?;
            count
                .get("input_tokens")
                .and_then(Value::as_u64)
                .map(Some)
                .ok_or_else(|| ApiError::Protocol("the token count has no `input_tokens`".into()))
        };
        tokio::time::timeout(COUNT_TOKENS_TIMEOUT, call)
            .await
            .unwrap_or(Err(ApiError::Timeout {
                phase: TimeoutPhase::Response,
                after: COUNT_TOKENS_TIMEOUT,
                request_id: None,
            }))
    }

    /// `GET /v1/models`; `Ok(None)` when the endpoint does not offer it (404/405).
    pub async fn models(&self) -> Result<Option<Vec<ModelInfo>>, ApiError> {
        let mut none = |_: &RetryNotice| {};
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(id) => format!("/v1/models?limit=1000&after_id={id}"),
                None => "/v1/models?limit=1000".to_owned(),
            };
            let response = match self
                .send_with_retries(
                    reqwest::Method::GET,
                    &path,
                    None,
                    self.config.first_byte_timeout,
                    &mut none,
                )
                .await
            {
                Ok(r) => r,
                Err(ApiError::Status(e)) if matches!(e.status, 404 | 405) => return Ok(None),
                Err(e) => return Err(e),
            };
            let page: Value = response
                .json()
                .await
                .map_err(|e| ApiError::Protocol(format!("the model list is not JSON ({e})")))?;
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| ApiError::Protocol("the model list has no `data` array".into()))?;
            out.extend(
                data.iter()
                    .filter_map(|m| serde_json::from_value::<ModelInfo>(m.clone()).ok()),
            );
            let more = page.get("has_more").and_then(Value::as_bool) == Some(true);
            let last = page
                .get("last_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match (more, last) {
                (true, Some(last)) if after.as_deref() != Some(&last) => after = Some(last),
                _ => return Ok(Some(out)),
            }
        }
    }
}

/// How long a token count may take, all of it: the count only improves a figure on screen.
pub const COUNT_TOKENS_TIMEOUT: Duration = Duration::from_secs(5);

/// The top-level fields `POST /v1/messages/count_tokens` takes (Anthropic's API reference for
/// it lists these; it refuses any other as an extra input).
const COUNT_TOKENS_FIELDS: [&str; 10] = [
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "cache_control",
    "mcp_servers",
    "context_management",
];

/// The count_tokens body of `request`: its JSON limited to [`COUNT_TOKENS_FIELDS`].
pub fn count_tokens_body(request: &MessagesRequest) -> Result<Vec<u8>, ApiError> {
    let encode =
        |e: serde_json::Error| ApiError::Protocol(format!("cannot encode the request: {e}"));
    let mut body = serde_json::to_value(request).map_err(encode)?;
    if let Some(fields) = body.as_object_mut() {
        fields.retain(|key, _| COUNT_TOKENS_FIELDS.contains(&key.as_str()));
    }
    serde_json::to_vec(&body).map_err(encode)
}

/// Whether an error answer to count_tokens says the endpoint is not there: 404, 405 or 501,
/// or a `not_found_error`, unless it is about the model (an unknown model is a 404
/// `not_found_error` too, and says nothing of the endpoint).
pub fn is_absent_endpoint(error: &super::StatusError) -> bool {
    let missing = matches!(error.status, 404 | 405 | 501)
        || error.error_type.as_deref() == Some("not_found_error");
    missing && !error.names_model()
}

/// The base URL without trailing slashes or a trailing `/v1`: tern adds `/v1/messages` itself,
/// and `https://host/v1` is how many gateways write their base URL.
pub fn normalize_base_url(url: &str) -> &str {
    let url = url.trim().trim_end_matches('/');
    url.strip_suffix("/v1").unwrap_or(url).trim_end_matches('/')
}

/// `url` as it may be shown: a `user:password@` part is left out (it is a secret).
pub fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let shown = parsed.to_string();
            // `Url` adds a `/` to a bare origin; keep the text as the user wrote it otherwise.
            if url.ends_with('/') {
                shown
            } else {
                shown.trim_end_matches('/').to_owned()
            }
        }
        _ => url.to_owned(),
    }
}

/// SDK backoff: `min(0.5 * 2^n, 8)` seconds, scaled down by up to 25 % of jitter.
pub fn backoff(retries_taken: u32) -> Duration {
    let nominal = (0.5 * 2f64.powi(retries_taken.min(16) as i32)).min(8.0);
    let jitter = 1.0 - 0.25 * rand::random::<f64>();
    Duration::from_secs_f64(nominal * jitter)
}

fn request_id_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("request-id")
        .or_else(|| headers.get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Whether the TLS handshake failed because the server's first bytes were not a TLS record (a
/// plain-HTTP server answers the handshake with `HTTP/1.1 400 ...`). rustls reports that as an
/// invalid content type, wrapped in an `io::Error` somewhere down reqwest's source chain.
fn answered_tls_in_plain_text(err: &(dyn std::error::Error + 'static)) -> bool {
    use rustls::{Error as TlsError, InvalidMessage};
    let is_plain = |e: &(dyn std::error::Error + 'static)| {
        matches!(
            e.downcast_ref::<TlsError>(),
            Some(TlsError::InvalidMessage(InvalidMessage::InvalidContentType))
        )
    };
    let mut next = Some(err);
    while let Some(e) = next {
        // `io::Error::source` skips the error it wraps (often another `io::Error`), so unwrap
        // those explicitly.
        let mut inner = Some(e);
        while let Some(layer) = inner {
            if is_plain(layer) {
                return true;
            }
            inner = layer
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .map(|wrapped| wrapped as &(dyn std::error::Error + 'static));
        }
        next = e.source();
    }
    false
}

/// The innermost error message (reqwest's top level is often just "error sending request").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut source = err;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// A reply being streamed. Pull events with [`MessageStream::next`].
pub struct MessageStream {
    /// Read a chunk at a time; dropping it closes the connection.
    body: reqwest::Response,
    decoder: EventDecoder,
    pending: VecDeque<StreamEvent>,
    /// An error decoded after the events in `pending`: handed out once they are.
    failed: Option<ApiError>,
    /// The body has ended cleanly.
    eof: bool,
    idle_timeout: Duration,
    request_id: Option<String>,
    finished: bool,
}

impl MessageStream {
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Token usage as reported so far (cheap; no copy of the content).
    pub fn usage(&self) -> crate::api::Usage {
        self.decoder.accumulator.usage()
    }

    /// The message accumulated so far (partial until the stream finishes).
    pub fn snapshot(&self) -> Message {
        self.decoder.accumulator.snapshot()
    }

    /// The next event, already applied to the snapshot. `None` after `message_stop`.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, ApiError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if let Some(e) = self.failed.take() {
                return Some(Err(self.fail(e)));
            }
            if self.finished || self.decoder.accumulator.is_complete() {
                self.finished = true;
                return None;
            }
            if self.eof {
                return Some(Err(self.fail(ApiError::Truncated {
                    request_id: None,
                    detail: None,
                })));
            }
            let chunk = match tokio::time::timeout(self.idle_timeout, self.body.chunk()).await {
                Err(_) => {
                    return Some(Err(self.fail(ApiError::Timeout {
                        phase: TimeoutPhase::Idle,
                        after: self.idle_timeout,
                        request_id: None,
                    })));
                }
                Ok(Ok(None)) => {
                    self.eof = true;
                    let pending = &mut self.pending;
                    if let Err(e) = self.decoder.finish(&mut |event| pending.push_back(event)) {
                        self.failed = Some(e);
                    }
                    continue;
                }
                Ok(Err(e)) => {
                    let detail = format!("connection lost: {}", root_cause(&e));
                    return Some(Err(self.fail(ApiError::Truncated {
                        request_id: None,
                        detail: Some(detail),
                    })));
                }
                Ok(Ok(Some(chunk))) => chunk,
            };
            let pending = &mut self.pending;
            if let Err(e) = self
                .decoder
                .feed(&chunk, &mut |event| pending.push_back(event))
            {
                // The events decoded before the error come first, then the error: the result
                // does not depend on how the bytes were split into reads.
                self.failed = Some(e);
            }
        }
    }

    fn fail(&mut self, err: ApiError) -> ApiError {
        self.finished = true;
        err.with_request_id(self.request_id.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_redacted_in_debug() {
        let key = ApiKey::new("sk-secret");
        assert!(!format!("{key:?}").contains("secret"));
        let config = ClientConfig {
            base_url: "http://x".into(),
            api_key: key,
            auth: AuthScheme::XApiKey,
            anthropic_version: "2023-06-01".into(),
            anthropic_beta: vec![],
            connect_timeout: Duration::from_secs(1),
            first_byte_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            max_retries: 0,
        };
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn urls_are_shown_without_their_credentials() {
        assert_eq!(
            without_credentials("http://u:SECRETPW@192.0.2.2:8787"),
            "http://192.0.2.2:8787"
        );
        assert_eq!(
            without_credentials("https://tok@gw.example/api/"),
            "https://gw.example/api/"
        );
        assert_eq!(
            without_credentials("https://api.apifree.ai"),
            "https://api.apifree.ai"
        );
        assert_eq!(without_credentials("not a url"), "not a url");
    }

    #[test]
    fn base_url_forms() {
        for (given, used) in [
            ("https://api.apifree.ai", "https://api.apifree.ai"),
            ("https://api.apifree.ai/", "https://api.apifree.ai"),
            ("https://api.apifree.ai/v1", "https://api.apifree.ai"),
            ("https://api.apifree.ai/v1/", "https://api.apifree.ai"),
            ("http://gw/anthropic/v1", "http://gw/anthropic"),
            ("http://gw/v10", "http://gw/v10"),
        ] {
            assert_eq!(normalize_base_url(given), used, "{given}");
        }
    }

    #[test]
    fn backoff_is_within_sdk_bounds() {
        for (n, nominal) in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)] {
            let d = backoff(n).as_secs_f64();
            assert!(d <= nominal && d >= nominal * 0.75, "{n}: {d}");
        }
    }
}
