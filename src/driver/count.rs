//! Token counts in the background (`Effect::CountTokens`), and whether the endpoint has them.
//!
//! A count is one short request that nothing waits for; its answer comes back as
//! `Action::TokensCounted`. What is known of the endpoint is kept per process in
//! [`CountTokensGate`] and, once it is found absent, in the store by base URL (the store is
//! the one owner of what outlives a run), so neither this run nor a later one asks again. The
//! first count of a run holds the gate while it asks, so counts fired together probe the
//! endpoint once. A failed count (network, timeout, 5xx, an unknown model) says nothing of
//! the endpoint and marks nothing.

use std::path::PathBuf;

use tokio::sync::Mutex;

use super::effects::{ClientCell, Driver};
use crate::api::MessagesRequest;
use crate::api::client::{normalize_base_url, without_credentials};
use crate::app::{Action, TokenCount};
use crate::store::{NO_COUNT_TOKENS, Store, StoreWriter, WriteCommand};

/// The value of [`NO_COUNT_TOKENS`] for an endpoint found without count_tokens.
const ABSENT: &str = "absent";

/// Whether the endpoint has count_tokens, as far as this process knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Known {
    /// Not asked yet (the store may know from an earlier run).
    #[default]
    Unknown,
    Present,
    Absent,
}

/// What this process knows of the endpoint's count_tokens, shared by the count tasks.
#[derive(Debug, Default)]
pub(crate) struct CountTokensGate(Mutex<Known>);

impl Driver {
    /// Count `body` in a task; answer with `Action::TokensCounted`.
    pub(crate) fn count_tokens(
        &mut self,
        conversation: String,
        generation: u64,
        prompt: String,
        body: MessagesRequest,
    ) {
        let client = self.client.clone();
        let gate = self.count_gate.clone();
        let store = (self.store_path.clone(), self.writer.clone());
        let tx = self.tx.clone();
        let resolver = self.resolver();
        tokio::spawn(async move {
            // A failed count is silent: nothing changes, so nothing is sent.
            let Ok(body) = resolver.resolve(body).await else {
                return;
            };
            let Some(result) = count(&client, &gate, store, &body).await else {
                return;
            };
            let _ = tx.send(Action::TokensCounted {
                conversation,
                generation,
                prompt,
                result,
            });
        });
    }
}

impl Driver {
    /// At startup: when an earlier run found this endpoint without count_tokens, tell the app
    /// (`Action::CountTokensAbsent`), so it never schedules a count.
    pub(crate) fn recall_count_tokens(&self) {
        let (client, gate, tx) = (
            self.client.clone(),
            self.count_gate.clone(),
            self.tx.clone(),
        );
        let Some(path) = self.store_path.clone() else {
            return;
        };
        tokio::spawn(async move {
            let Ok(client) = client.get().await else {
                return;
            };
            let base_url = without_credentials(normalize_base_url(&client.config().base_url));
            let mut known = gate.0.lock().await;
            if *known == Known::Unknown && remembered_absent(path, base_url).await {
                *known = Known::Absent;
                let _ = tx.send(Action::CountTokensAbsent);
            }
        });
    }
}

async fn count(
    client: &ClientCell,
    gate: &CountTokensGate,
    (store_path, writer): (Option<PathBuf>, Option<StoreWriter>),
    body: &MessagesRequest,
) -> Option<TokenCount> {
    let client = client.get().await.ok()?;
    // The key the store keeps it under: the URL as used, without a `user:password@` part.
    let base_url = without_credentials(normalize_base_url(&client.config().base_url));
    let mut known = gate.0.lock().await;
    if *known == Known::Unknown
        && let Some(path) = store_path
        && remembered_absent(path, base_url.clone()).await
    {
        *known = Known::Absent;
    }
    let probe = match *known {
        Known::Absent => return Some(TokenCount::Absent),
        // Others wait for the first answer rather than ask too.
        Known::Unknown => Some(known),
        Known::Present => {
            drop(known);
            None
        }
    };
    let answer = client.count_tokens(body).await;
    let mut known = match probe {
        Some(known) => known,
        None => gate.0.lock().await,
    };
    match answer {
        Ok(Some(n)) => {
            *known = Known::Present;
            Some(TokenCount::Counted(n))
        }
        Ok(None) => {
            *known = Known::Absent;
            if let Some(writer) = writer {
                let _ = writer.write(WriteCommand::SetEndpointFact {
                    base_url,
                    fact: NO_COUNT_TOKENS.to_owned(),
                    value: ABSENT.to_owned(),
                    at_ms: crate::store::now_ms(),
                });
            }
            Some(TokenCount::Absent)
        }
        Err(_) => None,
    }
}

/// Whether an earlier run found `base_url` without count_tokens (read off the async workers).
async fn remembered_absent(path: PathBuf, base_url: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let store = Store::open_readonly(path).ok()?;
        store.endpoint_fact(&base_url, NO_COUNT_TOKENS).ok()?
    })
    .await
    .ok()
    .flatten()
    .is_some_and(|value| value == ABSENT)
}
