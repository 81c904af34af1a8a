//! Effect execution: the I/O behind each [`Effect`] the app asks for, answered by actions on
//! the app channel.
//!
//! Nothing here blocks the loop: requests, token counts and tool calls run as tasks
//! ([`super::stream`], [`super::count`], [`super::tools`]), writes go to the
//! store's owner task ([`StoreWriter`]), reads run on the blocking pool after this session's
//! queued writes. What a query returns (browser rows, an export's file name) is the store's
//! business; this file only runs it and sends the answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, mpsc};
use tokio::task::JoinHandle;

use super::clipboard::copy_to_clipboard;
use super::stream::stream_reply;
use crate::api::{ApiError, Client, MessagesRequest};
use crate::app::{Action, Effect, Notice, RequestId};
use crate::config::Config;
use crate::store::{Store, StoreError, StoreWriter, WriteCommand};

/// Conversations listed (or search results shown) in the browser.
const BROWSER_ROWS: usize = 200;
/// Messages loaded for the browser's preview (the latest ones).
const PREVIEW_MESSAGES: usize = 40;

/// Builds the API client on first use (running `api_key_command` then, not at startup).
pub(crate) struct ClientCell {
    config: Config,
    cell: OnceCell<Client>,
}

impl ClientCell {
    pub(crate) fn new(config: Config) -> ClientCell {
        ClientCell {
            config,
            cell: OnceCell::new(),
        }
    }

    pub(crate) async fn get(&self) -> Result<Client, ApiError> {
        self.cell
            .get_or_try_init(|| async {
                let key = self.config.resolve_key().await?;
                Client::new(self.config.client_config(key))
            })
            .await
            .cloned()
    }
}

/// Everything the effects need.
pub(crate) struct Driver {
    pub(crate) tx: mpsc::UnboundedSender<Action>,
    pub(crate) client: Arc<ClientCell>,
    pub(crate) writer: Option<StoreWriter>,
    pub(crate) store_path: Option<PathBuf>,
    /// Read connection for the browser, opened on first use.
    pub(crate) reader: Option<Arc<Mutex<Store>>>,
    pub(crate) requests: HashMap<RequestId, JoinHandle<()>>,
    /// What this process knows of the endpoint's count_tokens.
    pub(crate) count_gate: Arc<super::count::CountTokensGate>,
    /// The MCP servers (started when the app asks).
    pub(crate) mcp: crate::mcp::Mcp,
    /// Tool calls running, by `tool_use` id.
    pub(crate) tool_calls: HashMap<String, JoinHandle<()>>,
    /// The bytes of the files this session attached.
    pub(crate) attachment_bytes: super::attach::AttachmentBytes,
}

impl Driver {
    /// Carry out one effect (the loop handles quitting, the editor and timers itself).
    pub(crate) fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Send {
                conversation,
                request,
                body,
            } => self.send(conversation, request, body),
            Effect::Cancel(request) => {
                if let Some(task) = self.requests.remove(&request) {
                    task.abort();
                }
            }
            Effect::Save(op) => self.save(op),
            Effect::Copy { text, what } => {
                let notice = match copy_to_clipboard(&text) {
                    Ok((chars, how)) => {
                        Notice::info(format!("copied {what} ({chars} chars, {how})"))
                    }
                    Err(e) => Notice::error(format!("copy failed: {e}")),
                };
                self.notify(notice);
            }
            Effect::BrowserQuery { generation, query } => self.browser_query(generation, query),
            Effect::BrowserPreview(id) => self.read(move |store| {
                let (_, mut messages) = store.load(&id).ok()?;
                let keep = messages.len().saturating_sub(PREVIEW_MESSAGES);
                messages.drain(..keep);
                Some(Action::BrowserPreview { id, messages })
            }),
            Effect::Reload(id) => self.read(move |store| {
                Some(match store.load_tree(&id) {
                    Ok((conversation, messages)) => Action::Reloaded {
                        conversation,
                        messages,
                    },
                    Err(e) => Action::Notify(Notice::error(format!("cannot reload: {e}"))),
                })
            }),
            Effect::OpenConversation(id) => self.read(move |store| {
                open_saved(store, &id).unwrap_or_else(|e| {
                    vec![Action::Notify(Notice::error(format!("cannot open: {e}")))]
                })
            }),
            Effect::OpenConversationAt {
                conversation,
                message,
            } => self.read(move |store| match open_saved(store, &conversation) {
                Ok(mut actions) => {
                    actions.push(Action::ShowMessage {
                        conversation,
                        message,
                    });
                    actions
                }
                Err(e) => vec![Action::Notify(Notice::error(format!("cannot open: {e}")))],
            }),
            Effect::Export(id) => self.read(move |store| {
                Some(Action::Notify(match export_here(store, &id) {
                    Ok(file) => Notice::info(format!("exported to {}", file.display())),
                    Err(e) => Notice::error(format!("export failed: {e}")),
                }))
            }),
            Effect::CountTokens {
                conversation,
                generation,
                prompt,
                body,
            } => self.count_tokens(conversation, generation, prompt, body),
            Effect::StartTools => self.start_tools(),
            Effect::CallTool {
                conversation,
                call,
                name,
                arguments,
            } => self.call_tool(conversation, call, name, arguments),
            Effect::CancelTool { call } => self.cancel_tool(&call),
            Effect::LoadThumbnail { sha256 } => self.load_thumbnail(sha256),
            Effect::Attach {
                conversation,
                job,
                source,
            } => self.attach(conversation, job, source),
            Effect::CompletePath {
                conversation,
                draft,
                word_start,
            } => self.complete_path(conversation, draft, word_start),
            Effect::Quit | Effect::Editor(_) | Effect::Schedule { .. } => {}
        }
    }

    fn notify(&self, notice: Notice) {
        let _ = self.tx.send(Action::Notify(notice));
    }

    /// Start a request's task (forgetting the ones that ended).
    fn send(&mut self, conversation: String, request: RequestId, body: MessagesRequest) {
        self.requests.retain(|_, task| !task.is_finished());
        let client = self.client.clone();
        let tx = self.tx.clone();
        let resolver = self.resolver();
        let task = tokio::spawn(async move {
            match resolver.resolve(body).await {
                Ok(body) => stream_reply(client, conversation, request, body, tx).await,
                Err(error) => {
                    let _ = tx.send(Action::Api {
                        conversation,
                        request,
                        event: crate::app::ApiEvent::Failed {
                            error,
                            partial: None,
                        },
                    });
                }
            }
        });
        self.requests.insert(request, task);
    }

    fn save(&self, command: WriteCommand) {
        let Some(writer) = &self.writer else { return };
        let result = writer.write(command);
        if let Err(e) = result {
            self.notify(Notice::error(format!("not saved: {e}")));
        }
    }

    fn browser_query(&mut self, generation: u64, query: String) {
        if let Err(e) = self.reader() {
            // Answer the query, so the browser says why instead of searching forever.
            let _ = self.tx.send(Action::BrowserRows {
                generation,
                rows: Err(e),
            });
            return;
        }
        self.read(move |store| {
            Some(Action::BrowserRows {
                generation,
                rows: store
                    .browse(&query, BROWSER_ROWS)
                    .map_err(|e| e.to_string()),
            })
        });
    }

    /// Run a read on the shared read connection, off the async workers, after this session's
    /// queued writes; send its answer.
    fn read<A: IntoIterator<Item = Action> + Send + 'static>(
        &mut self,
        query: impl FnOnce(&Store) -> A + Send + 'static,
    ) {
        let reader = match self.reader() {
            Ok(reader) => reader,
            Err(e) => {
                self.notify(Notice::error(e));
                return;
            }
        };
        let tx = self.tx.clone();
        let writer = self.writer.clone();
        tokio::spawn(async move {
            // Read our own writes: what this session queued is committed before the query.
            if let Some(writer) = writer {
                let _ = writer.flush().await;
            }
            let answer = tokio::task::spawn_blocking(move || match reader.lock() {
                Ok(store) => query(&store).into_iter().collect(),
                Err(_) => vec![Action::Notify(Notice::error(
                    "the store reader failed earlier",
                ))],
            })
            .await
            .unwrap_or_default();
            for action in answer {
                let _ = tx.send(action);
            }
        });
    }

    /// The read connection, opened on first use (read-only where the store cannot be written).
    pub(crate) fn reader(&mut self) -> Result<Arc<Mutex<Store>>, String> {
        if let Some(reader) = &self.reader {
            return Ok(reader.clone());
        }
        let path = self
            .store_path
            .as_ref()
            .ok_or("no saved conversations: no data directory")?;
        let store = Store::open_for_reading(path).map_err(|e| e.to_string())?;
        let reader = Arc::new(Mutex::new(store));
        self.reader = Some(reader.clone());
        Ok(reader)
    }

    /// Ask the endpoint for its models, in the background; silent when it has no list.
    pub(crate) fn fetch_models(&self) {
        let client = self.client.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Ok(client) = client.get().await
                && let Ok(Some(models)) = client.models().await
            {
                let _ = tx.send(Action::ModelsFetched(
                    models.iter().map(|m| m.id.clone()).collect(),
                ));
                let _ = tx.send(Action::ModelsDescribed(models));
            }
        });
    }
}

/// The actions that open a saved conversation: its messages, then its unsent draft.
pub(crate) fn open_saved(store: &Store, id: &str) -> Result<Vec<Action>, StoreError> {
    // Every branch: the pane shows the active path and keeps the others to switch to.
    let (conversation, messages) = store.load_tree(id)?;
    let mut actions = vec![Action::OpenSaved {
        conversation,
        messages,
    }];
    let draft = store.draft(id)?;
    if !draft.is_empty() {
        actions.push(Action::RestoreDraft {
            conversation: id.to_owned(),
            text: draft,
        });
    }
    Ok(actions)
}

/// Export a conversation as Markdown into the current directory, under a name no file has yet.
fn export_here(store: &Store, id: &str) -> Result<PathBuf, String> {
    let text = store.export_markdown(id).map_err(|e| e.to_string())?;
    let stem = crate::store::export_file_stem(id);
    crate::review::write_new_file(Path::new("."), &stem, "md", &text).map_err(|e| e.to_string())
}
