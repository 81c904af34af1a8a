//! The Messages client: wire types, SSE decoding, stream accumulation, errors, HTTP with retries.

pub mod client;
pub mod error;
pub mod sse;
pub mod stream;
pub mod types;

pub use client::{ApiKey, AuthScheme, Client, ClientConfig, MessageStream, RetryNotice};
pub use error::{ApiError, StatusError, TimeoutPhase};
pub use stream::{Accumulator, Delta, EventDecoder, StreamEvent};
pub use types::{ContentBlock, Message, MessagesRequest, RequestMessage, Role, Usage};
