//! One request's task: send it, turn the reply stream into `Action::Api` events on the app
//! channel, tagged with the conversation and request id.
//!
//! A model sends a word or two per event, a hundred events a second; the screen shows twenty
//! frames a second. So the task reads in batches: it takes what has arrived, sends it as one
//! event (adjacent text joined), and waits a stream frame before reading again, while the
//! kernel gathers the next batch. A stream then costs a wake-up of this task, of the
//! connection and of the app per frame rather than per network event, and the first text
//! still goes out the moment it arrives.
//!
//! Cancelling a request aborts this task, which drops the stream and closes the connection;
//! the app ignores events of a request it no longer waits for, so a late event is harmless.

use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::effects::ClientCell;
use super::pacing::STREAM_FRAME;
use crate::api::types::TEXT_AFTER_OTHER_BLOCK;
use crate::api::{ContentBlock, Delta, MessageStream, MessagesRequest, RetryNotice, StreamEvent};
use crate::app::{Action, ApiEvent, RequestId};

/// Stream the reply to `body` into `tx`; always ends with `Finished` or `Failed`.
pub(crate) async fn stream_reply(
    client: Arc<ClientCell>,
    conversation: String,
    request: RequestId,
    body: MessagesRequest,
    tx: mpsc::UnboundedSender<Action>,
) {
    let send = |event: ApiEvent| {
        let _ = tx.send(Action::Api {
            conversation: conversation.clone(),
            request,
            event,
        });
    };
    let client = match client.get().await {
        Ok(c) => c,
        Err(error) => {
            send(ApiEvent::Failed {
                error,
                partial: None,
            });
            return;
        }
    };
    let mut body = body;
    body.stream = Some(true);
    let mut on_retry = |notice: &RetryNotice| send(ApiEvent::Retrying(notice.clone()));
    let mut stream = match client.stream(&body, &mut on_retry).await {
        Ok(s) => s,
        Err(error) => {
            send(ApiEvent::Failed {
                error,
                partial: None,
            });
            return;
        }
    };
    let mut reader = Reader::default();
    let mut batch = Vec::new();
    // When text last went out: the next batch waits a stream frame after it.
    let mut text_sent: Option<Instant> = None;
    loop {
        if let Some(at) = text_sent {
            tokio::time::sleep_until(at + STREAM_FRAME).await;
        }
        let mut done = reader.take(stream.next().await, &stream, &mut batch);
        // What else has already arrived joins the batch. The connection task gets a turn to
        // decode what it has read; a chunk it is still handing over comes within the grace.
        let mut taken = 1;
        while !done && taken < BATCH_AT_MOST {
            tokio::task::yield_now().await;
            let item = match stream.next().now_or_never() {
                Some(item) => item,
                None => match tokio::time::timeout(BATCH_GRACE, stream.next()).await {
                    Ok(item) => item,
                    Err(_) => break,
                },
            };
            done = reader.take(item, &stream, &mut batch);
            taken += 1;
        }
        let had_text = batch
            .iter()
            .any(|e| matches!(e, ApiEvent::Text(_) | ApiEvent::Thinking(_)));
        for event in batch.drain(..) {
            send(event);
        }
        if done {
            return;
        }
        // A full batch means the reply comes faster than it is read: read on at once.
        text_sent = (had_text && taken < BATCH_AT_MOST).then(Instant::now);
    }
}

/// The most events one batch takes before it goes out (the app stays responsive to a reply
/// that arrives faster than it is read).
const BATCH_AT_MOST: usize = 4096;
/// How long a batch waits for one more event before it goes out: enough for a chunk already
/// read to be decoded and handed over, too short to notice.
const BATCH_GRACE: std::time::Duration = std::time::Duration::from_millis(2);

/// Turns stream events into the app's events, joining text (and thinking) that follows text.
#[derive(Default)]
struct Reader {
    wrote_text: bool,
    /// Text after another kind of block (a search, a tool call) starts a new paragraph, as
    /// `plain_text` makes of the finished reply.
    after_other: bool,
}

impl Reader {
    /// Add what `item` means for the app to `batch`; `true` when the stream has ended
    /// (`Finished` or `Failed` is the batch's last event).
    fn take(
        &mut self,
        item: Option<Result<StreamEvent, crate::api::ApiError>>,
        stream: &MessageStream,
        batch: &mut Vec<ApiEvent>,
    ) -> bool {
        match item {
            Some(Ok(StreamEvent::BlockStart {
                block: ContentBlock::Text { .. },
                ..
            })) => {
                if std::mem::take(&mut self.after_other) && self.wrote_text {
                    push_text(batch, TEXT_AFTER_OTHER_BLOCK);
                }
            }
            Some(Ok(StreamEvent::BlockStart { block, .. })) => {
                self.after_other |= !matches!(
                    block,
                    ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. }
                );
            }
            Some(Ok(StreamEvent::MessageStart(message))) => batch.push(ApiEvent::Started {
                usage: message.usage,
            }),
            Some(Ok(StreamEvent::BlockDelta {
                delta: Delta::Text(text),
                ..
            })) => {
                self.wrote_text = true;
                push_text(batch, &text);
            }
            Some(Ok(StreamEvent::BlockDelta {
                delta: Delta::Thinking(thinking),
                ..
            })) => match batch.last_mut() {
                Some(ApiEvent::Thinking(so_far)) => so_far.push_str(&thinking),
                _ => batch.push(ApiEvent::Thinking(thinking)),
            },
            Some(Ok(StreamEvent::MessageDelta { .. })) => match batch.last_mut() {
                // Only the latest counts matter.
                Some(ApiEvent::Usage(usage)) => *usage = stream.usage(),
                _ => batch.push(ApiEvent::Usage(stream.usage())),
            },
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                batch.push(ApiEvent::Failed {
                    error,
                    partial: Some(Box::new(stream.snapshot())),
                });
                return true;
            }
            None => {
                batch.push(ApiEvent::Finished(Box::new(stream.snapshot())));
                return true;
            }
        }
        false
    }
}

/// Append `text` to the batch's last event when that is text too.
fn push_text(batch: &mut Vec<ApiEvent>, text: &str) {
    match batch.last_mut() {
        Some(ApiEvent::Text(so_far)) => so_far.push_str(text),
        _ => batch.push(ApiEvent::Text(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RequestMessage;
    use crate::config::{Config, Overrides};
    use crate::fake::{FakeConfig, FakeServer};

    /// The app's events for one streamed reply to `prompt`.
    async fn events_for(prompt: &str) -> Vec<ApiEvent> {
        let server = FakeServer::start(FakeConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "").unwrap();
        let url = server.base_url();
        let config = Config::load_with(
            &Overrides {
                config_file: Some(file),
                ..Overrides::default()
            },
            &|name| match name {
                "APIFREE_BASE_URL" => Some(url.clone()),
                "APIFREE_API_KEY" => Some("test-key".to_owned()),
                _ => None,
            },
        )
        .unwrap();
        let body = MessagesRequest {
            model: "claude-sonnet-4.6".into(),
            messages: vec![RequestMessage::user(prompt)],
            max_tokens: 64_000,
            ..MessagesRequest::default()
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let client = Arc::new(ClientCell::new(config));
        stream_reply(client, "c".into(), 1, body, tx).await;
        let mut events = Vec::new();
        while let Ok(Action::Api { event, .. }) = rx.try_recv() {
            events.push(event);
        }
        events
    }

    #[tokio::test]
    async fn deltas_that_arrive_together_go_out_as_one_event_and_nothing_is_lost() {
        let events = events_for("scenario:paced words:300 rate:0").await;
        let texts: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                ApiEvent::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            texts.len() < 300,
            "300 deltas sent at once arrived as {} events",
            texts.len()
        );
        let Some(ApiEvent::Finished(message)) = events.last() else {
            panic!("the last event finishes the reply: {events:?}");
        };
        assert_eq!(texts.concat(), message.text(), "every word, in order");
        assert_eq!(message.text().split_whitespace().count(), 300);
        assert!(matches!(events[0], ApiEvent::Started { .. }));
    }
}
