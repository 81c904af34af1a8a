//! One request's task: send it, turn the reply stream into `Action::Api` events on the app
//! channel, tagged with the conversation and request id.
//!
//! Cancelling a request aborts this task, which drops the stream and closes the connection;
//! the app ignores events of a request it no longer waits for, so a late event is harmless.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::effects::ClientCell;
use crate::api::types::TEXT_AFTER_OTHER_BLOCK;
use crate::api::{ContentBlock, Delta, MessagesRequest, RetryNotice, StreamEvent};
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
    // Text after another kind of block (a search, a tool call) starts a new paragraph, as
    // `plain_text` makes of the finished reply.
    let (mut wrote_text, mut after_other) = (false, false);
    loop {
        match stream.next().await {
            Some(Ok(StreamEvent::BlockStart {
                block: ContentBlock::Text { .. },
                ..
            })) => {
                if std::mem::take(&mut after_other) && wrote_text {
                    send(ApiEvent::Text(TEXT_AFTER_OTHER_BLOCK.to_owned()));
                }
            }
            Some(Ok(StreamEvent::BlockStart { block, .. })) => {
                after_other |= !matches!(
                    block,
                    ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. }
                );
            }
            Some(Ok(StreamEvent::MessageStart(message))) => send(ApiEvent::Started {
                usage: message.usage,
            }),
            Some(Ok(StreamEvent::BlockDelta {
                delta: Delta::Text(text),
                ..
            })) => {
                wrote_text = true;
                send(ApiEvent::Text(text));
            }
            Some(Ok(StreamEvent::BlockDelta {
                delta: Delta::Thinking(thinking),
                ..
            })) => send(ApiEvent::Thinking(thinking)),
            Some(Ok(StreamEvent::MessageDelta { .. })) => send(ApiEvent::Usage(stream.usage())),
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                send(ApiEvent::Failed {
                    error,
                    partial: Some(Box::new(stream.snapshot())),
                });
                return;
            }
            None => {
                send(ApiEvent::Finished(Box::new(stream.snapshot())));
                return;
            }
        }
    }
}
