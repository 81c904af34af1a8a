//! The review commands: `tern list`, `show`, `search`, `export`, and saving `tern -p` exchanges.
//!
//! They read the same store the app writes (WAL lets them run beside a live `tern`). Everything
//! goes out through [`crate::sanitize`]: text meant for people is sanitised when stdout is a
//! terminal (hidden characters shown as `⟨U+XXXX⟩`); `--json` and `export` are exact in a pipe.

use std::path::Path;

use serde_json::json;

use crate::api::Message;
use crate::store::{
    Conversation, MessageStatus, Store, StoreError, StoredMessage, now_ms, search::snippet_runs,
    title_from_prompt,
};
use crate::ui::format_tokens;

/// `3m ago`, `2h ago`, `yesterday`, `5d ago`, then the date.
pub fn relative_time(now_ms: i64, then_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        86_400..172_800 => "yesterday".into(),
        172_800..2_592_000 => format!("{}d ago", secs / 86_400),
        _ => time::OffsetDateTime::from_unix_timestamp(then_ms / 1000)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!("[year]-[month]-[day]"))
                    .ok()
            })
            .unwrap_or_default(),
    }
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn open(path: Option<&Path>) -> Result<Store, StoreError> {
    let path = path.ok_or_else(|| StoreError::Io {
        path: "<data dir>".into(),
        source: std::io::Error::other("no data directory could be determined ($HOME unset?)"),
    })?;
    Store::open(path)
}

/// Print `text` for people: sanitised if stdout is a terminal, exact in a pipe.
fn print_text(text: &str) -> std::io::Result<()> {
    crate::sanitize::print(text)
}

pub fn list(path: Option<&Path>, limit: usize, as_json: bool) -> anyhow::Result<()> {
    let store = open(path)?;
    let limit = if limit == 0 { u64::MAX } else { limit as u64 };
    let rows = store.list(0, limit)?;
    if as_json {
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                let c = &r.conversation;
                json!({
                    "id": c.id, "title": c.title,
                    "created_at": rfc3339(c.created_at), "updated_at": rfc3339(c.updated_at),
                    "message_count": r.message_count, "models": r.models,
                    "input_tokens": r.total_input_tokens, "output_tokens": r.total_output_tokens,
                    "last_model": c.last_model,
                })
            })
            .collect();
        crate::sanitize::print_json(&serde_json::to_string_pretty(&items)?)?;
        return Ok(());
    }
    if rows.is_empty() {
        print_text("No saved conversations yet. Start one with `tern` or `tern -p \"...\"`.\n")?;
        return Ok(());
    }
    // On a terminal the title takes the room that is left (narrow ones drop the models, then
    // the tokens column); a pipe gets every column and whole titles.
    let columns = crate::sanitize::stdout_columns();
    let fixed = |models: bool, tokens: bool| {
        8 + 2 + 10 + 2 + 5 + 2 + 15 * usize::from(tokens) + 26 * usize::from(models)
    };
    let room = |models, tokens| columns.map(|w| w.saturating_sub(fixed(models, tokens)));
    let fits = |models, tokens| room(models, tokens).is_none_or(|r| r >= 20);
    let (show_models, show_tokens) = if fits(true, true) {
        (true, true)
    } else if fits(false, true) {
        (false, true)
    } else {
        (false, false)
    };
    let title_room = room(show_models, show_tokens).map(|r| r.max(10));
    let row = |id: &str, updated: &str, msgs: &str, tokens: &str, models: &str, title: &str| {
        let mut line = format!("{id:<8}  {updated:<10}  {msgs:>5}  ");
        if show_tokens {
            line.push_str(&format!("{tokens:>13}  "));
        }
        if show_models {
            // Padded by display width: ids from outside may hold wide characters.
            let pad = 24usize.saturating_sub(crate::render::display_width(models));
            line.push_str(&format!("{models}{}  ", " ".repeat(pad)));
        }
        line.push_str(title);
        line.push('\n');
        line
    };
    let mut out = crate::sanitize::TermText::stdout();
    let tty = out.is_terminal();
    let shown = |text: &str| {
        if tty {
            crate::sanitize::for_terminal(text).replace(['\n', '\t'], " ")
        } else {
            text.to_owned()
        }
    };
    out.push(&row(
        "ID",
        "UPDATED",
        "MSGS",
        "TOKENS in/out",
        "MODELS",
        "TITLE",
    ));
    let now = now_ms();
    for r in &rows {
        let c = &r.conversation;
        let tokens = format!(
            "{}/{}",
            format_tokens(r.total_input_tokens),
            format_tokens(r.total_output_tokens)
        );
        let models = crate::ui::fit(&shown(&r.models.join(",")), 24);
        let title = shown(&c.title);
        let title = match title_room {
            Some(room) => crate::ui::fit(&title, room),
            None => title,
        };
        out.push(&row(
            &c.id[..c.id.len().min(8)],
            &relative_time(now, c.updated_at),
            &r.message_count.to_string(),
            &tokens,
            &models,
            &title,
        ));
    }
    out.print()?;
    Ok(())
}

pub fn show(path: Option<&Path>, prefix: &str, as_json: bool) -> anyhow::Result<()> {
    let store = open(path)?;
    let id = store.resolve(prefix)?;
    if as_json {
        crate::sanitize::print_json(&store.export_json(&id)?)?;
    } else {
        print_text(&store.export_markdown(&id)?)?;
    }
    Ok(())
}

pub fn search(path: Option<&Path>, query: &str, limit: usize, as_json: bool) -> anyhow::Result<()> {
    let store = open(path)?;
    let hits = store.search(query, limit)?;
    if as_json {
        let items: Vec<_> = hits
            .iter()
            .map(|h| {
                let snippet: String = snippet_runs(&h.snippet)
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect();
                json!({
                    "conversation_id": h.conversation_id, "title": h.title,
                    "message_id": h.message_id, "role": h.role.as_str(), "model": h.model,
                    "snippet": snippet, "updated_at": rfc3339(h.updated_at), "rank": h.rank,
                })
            })
            .collect();
        crate::sanitize::print_json(&serde_json::to_string_pretty(&items)?)?;
        return Ok(());
    }
    if hits.is_empty() {
        print_text(&format!("No messages match {query:?}.\n"))?;
        return Ok(());
    }
    let now = now_ms();
    let mut out = crate::sanitize::TermText::stdout();
    for h in &hits {
        let who = match (&h.role, &h.model) {
            (crate::api::Role::User, _) => "you".to_owned(),
            (_, Some(model)) => model.clone(),
            _ => "assistant".to_owned(),
        };
        out.push(&format!(
            "{}  {}  ({who}, {})\n    ",
            &h.conversation_id[..h.conversation_id.len().min(8)],
            h.title.replace(['\n', '\t'], " "),
            relative_time(now, h.updated_at)
        ));
        for (run, matched) in snippet_runs(&h.snippet) {
            let run = run.replace('\n', " ");
            if matched {
                out.highlight(&run);
            } else {
                out.push(&run);
            }
        }
        out.push("\n");
    }
    out.print()?;
    Ok(())
}

pub fn export(
    path: Option<&Path>,
    prefix: &str,
    format: crate::cli::ExportFormat,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let store = open(path)?;
    let id = store.resolve(prefix)?;
    let text = match format {
        crate::cli::ExportFormat::Md => store.export_markdown(&id)?,
        crate::cli::ExportFormat::Json => store.export_json(&id)? + "\n",
    };
    match output {
        Some(file) => {
            std::fs::write(file, &text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
            crate::term_eprintln!("tern: wrote {} ({} bytes)", file.display(), text.len());
        }
        None if matches!(format, crate::cli::ExportFormat::Json) => {
            crate::sanitize::print_json(text.trim_end())?;
        }
        None => print_text(&text)?,
    }
    Ok(())
}

pub fn import(path: Option<&Path>, file: &Path) -> anyhow::Result<()> {
    let json = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
    };
    let mut store = open(path)?;
    let id = store.import_json(&json)?;
    print_text(&format!("{id}\n"))?;
    Ok(())
}

/// Saves a `tern -p` exchange: the prompt before the request, the reply after.
pub struct PrintLog {
    store: Store,
    reply: StoredMessage,
}

impl PrintLog {
    /// Write the conversation and the user's message; `None` (with a warning) if the store fails.
    pub fn begin(
        path: Option<&Path>,
        request: &crate::api::MessagesRequest,
        prompt: &str,
    ) -> Option<PrintLog> {
        let attempt = || -> Result<PrintLog, StoreError> {
            let mut store = open(path)?;
            let mut conversation = Conversation::new(title_from_prompt(prompt));
            conversation.system = match &request.system {
                Some(crate::api::types::SystemPrompt::Text(s)) => Some(s.clone()),
                _ => None,
            };
            conversation.params.max_tokens = Some(request.max_tokens);
            conversation.params.temperature = request.temperature;
            conversation.params.top_p = request.top_p;
            conversation.last_model = Some(request.model.clone());
            store.create_conversation(&conversation)?;
            let user = StoredMessage::user(conversation.id.clone(), 0, prompt);
            store.upsert_message(&user)?;
            let reply = StoredMessage::assistant_streaming(
                conversation.id.clone(),
                1,
                request.model.clone(),
            );
            store.upsert_message(&reply)?;
            Ok(PrintLog { store, reply })
        };
        match attempt() {
            Ok(log) => Some(log),
            Err(e) => {
                crate::term_eprintln!("tern: warning: this exchange is not saved: {e}");
                None
            }
        }
    }

    /// Record the outcome: the (possibly partial) reply and, on failure, the error.
    pub fn finish(mut self, message: &Message, error: Option<&crate::api::ApiError>) {
        let status = if error.is_some() {
            MessageStatus::Error
        } else {
            MessageStatus::Complete
        };
        self.record(message, status, error);
    }

    /// Save the reply so far (still streaming), so a crash loses at most the last second.
    pub fn progress(&mut self, partial: &Message) {
        self.record(partial, MessageStatus::Streaming, None);
    }

    fn record(
        &mut self,
        message: &Message,
        status: MessageStatus,
        error: Option<&crate::api::ApiError>,
    ) {
        let reply = &mut self.reply;
        reply.content = message.content.clone();
        if message.usage != Default::default() {
            reply.usage = Some(message.usage);
        }
        reply.stop_reason = message.stop_reason.clone();
        reply.status = status;
        reply.error = error.map(|e| crate::app::ErrorInfo::from_api(e).to_stored());
        reply.updated_at = now_ms();
        if let Err(e) = self.store.upsert_message(reply) {
            crate::term_eprintln!("tern: warning: the reply was not saved: {e}");
        }
    }
}
