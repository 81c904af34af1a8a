//! Export for people (Markdown) and for machines (JSON that imports back losslessly).
//!
//! The Markdown is meant to be read or pasted elsewhere: the reply text is already Markdown and
//! goes out verbatim (code blocks intact); thinking folds into `<details>`, tool calls and other
//! blocks become fenced JSON whose fence is longer than any backtick run inside, so nothing
//! inside can close it early. Times are UTC so an export reads the same everywhere.
//!
//! The JSON is the store's own types behind a `"format": "tern.conversation.v1"` marker: every
//! block (unknown kinds verbatim), model, usage, status, error and parameter survives
//! `export_json` → `import_json`. A future format bumps the marker; import refuses markers it
//! does not know rather than guessing.

use std::fmt::Write as _;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Conversation, MessageStatus, StoredMessage, now_ms};
use super::write::{Check, create_conversation, upsert_message};
use super::{Store, StoreError};
use crate::api::types::{ContentBlock, Role};

/// The `format` marker of JSON exports.
pub const EXPORT_FORMAT: &str = "tern.conversation.v1";

#[derive(Serialize)]
struct ExportRef<'a> {
    format: &'static str,
    exported_at: i64,
    conversation: &'a Conversation,
    messages: &'a [StoredMessage],
}

#[derive(Deserialize)]
struct ExportDoc {
    format: String,
    conversation: Conversation,
    #[serde(default)]
    messages: Vec<StoredMessage>,
}

impl Store {
    /// The conversation as JSON (`tern.conversation.v1`), pretty-printed.
    pub fn export_json(&self, id: &str) -> Result<String, StoreError> {
        let (conversation, messages) = self.load(id)?;
        let doc = ExportRef {
            format: EXPORT_FORMAT,
            exported_at: now_ms(),
            conversation: &conversation,
            messages: &messages,
        };
        serde_json::to_string_pretty(&doc).map_err(|e| StoreError::Decode {
            what: "conversation",
            id: id.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Import a JSON export as a new conversation with the same ids; returns its id.
    ///
    /// Refuses ([`StoreError::AlreadyExists`]) if the conversation or any of its message ids is
    /// already saved, so importing twice never overwrites. A message exported while it was
    /// still streaming is imported as interrupted. All or nothing: one transaction.
    pub fn import_json(&mut self, json: &str) -> Result<String, StoreError> {
        let doc: ExportDoc = serde_json::from_str(json)
            .map_err(|e| StoreError::Import(format!("not a tern conversation export: {e}")))?;
        if doc.format != EXPORT_FORMAT {
            return Err(StoreError::Import(format!(
                "unknown format {:?} (this tern reads {EXPORT_FORMAT:?})",
                doc.format
            )));
        }
        let conversation = doc.conversation;
        let mut messages = doc.messages;
        for m in &mut messages {
            if m.conversation_id != conversation.id {
                return Err(StoreError::Import(format!(
                    "message {} belongs to conversation {}, not {}",
                    m.id, m.conversation_id, conversation.id
                )));
            }
            if m.status == MessageStatus::Streaming {
                m.status = MessageStatus::Interrupted;
            }
        }
        let id = conversation.id.clone();
        self.write_tx(|conn| {
            for m in &messages {
                let taken = conn
                    .prepare_cached("SELECT 1 FROM messages WHERE id = ?1")?
                    .query_row([&m.id], |_| Ok(()))
                    .optional()?;
                if taken.is_some() {
                    return Err(StoreError::AlreadyExists(m.id.clone()));
                }
            }
            create_conversation(conn, &conversation)?;
            for m in &messages {
                upsert_message(conn, m, None, Check::None)?;
            }
            // Message writes bump the header; put back exactly what was exported.
            conn.prepare_cached(
                "UPDATE conversations SET updated_at = ?2, last_model = ?3 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                conversation.id,
                conversation.updated_at,
                conversation.last_model
            ])?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The conversation as Markdown, for people.
    pub fn export_markdown(&self, id: &str) -> Result<String, StoreError> {
        let summary = self.summary(id)?;
        let (conversation, messages) = self.load(id)?;
        Ok(render_markdown(&conversation, &summary.models, &messages))
    }
}

/// The name, without extension, of a conversation exported from the app into the current
/// directory: `tern-` and the first 8 characters of its id (numbered when taken).
pub fn export_file_stem(id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    format!("tern-{short}")
}

/// Format unix milliseconds as `2024-05-01 12:34 UTC`.
pub(crate) fn format_time(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// A fenced block whose fence no backtick run inside `body` can close.
fn fenced(out: &mut String, lang: &str, body: &str) {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}");
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}\n");
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Make sure what follows starts a new paragraph.
fn end_paragraph(out: &mut String) {
    while !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// A conversation as markdown: its header (title, ids, times, models, parameters, system
/// prompt), then each message under a heading of its own.
pub(crate) fn render_markdown(
    conversation: &Conversation,
    models: &[String],
    messages: &[StoredMessage],
) -> String {
    let mut out = String::new();
    render_header(&mut out, conversation, models);
    for m in messages {
        render_message(&mut out, m);
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The title, then a list of what the conversation is (ids, times, models, the parameters it
/// sets), then its system prompt if it has one.
fn render_header(out: &mut String, conversation: &Conversation, models: &[String]) {
    let _ = writeln!(out, "# {}\n", conversation.title.trim());
    let _ = writeln!(out, "- Conversation: `{}`", conversation.id);
    let _ = writeln!(out, "- Created: {}", format_time(conversation.created_at));
    let _ = writeln!(out, "- Updated: {}", format_time(conversation.updated_at));
    if !models.is_empty() {
        let _ = writeln!(out, "- Models: {}", models.join(", "));
    }
    let params = &conversation.params;
    let mut set = Vec::new();
    if let Some(n) = params.max_tokens {
        set.push(format!("max_tokens {n}"));
    }
    if let Some(t) = params.temperature {
        set.push(format!("temperature {t}"));
    }
    if let Some(p) = params.top_p {
        set.push(format!("top_p {p}"));
    }
    if !set.is_empty() {
        let _ = writeln!(out, "- Parameters: {}", set.join(", "));
    }
    out.push('\n');
    if let Some(system) = conversation
        .system
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        out.push_str("## System prompt\n\n");
        fenced(out, "text", system);
    }
}

/// One message: a rule, `## Role · model · time`, its blocks, then how it ended (a status
/// note, its error) and its token counts.
fn render_message(out: &mut String, m: &StoredMessage) {
    out.push_str("---\n\n");
    let mut heading = match m.role {
        Role::User => "## User".to_owned(),
        Role::Assistant => "## Assistant".to_owned(),
    };
    if let Some(model) = &m.model {
        let _ = write!(heading, " · {model}");
    }
    if let Some(served) = m
        .response
        .as_ref()
        .and_then(|r| r.served_instead_of(m.model.as_deref()))
    {
        let _ = write!(heading, " (served by {served})");
    }
    let _ = write!(heading, " · {}", format_time(m.created_at));
    let _ = writeln!(out, "{heading}\n");

    for block in &m.content {
        render_block(out, block);
    }
    match m.status {
        MessageStatus::Complete => {}
        MessageStatus::Streaming => out.push_str("*(still being written when exported)*\n\n"),
        MessageStatus::Stopped => out.push_str("*(stopped before the end)*\n\n"),
        MessageStatus::Interrupted => {
            out.push_str("*(interrupted: tern exited while this reply was arriving)*\n\n")
        }
        MessageStatus::Error => {}
    }
    if let Some(error) = m.error.as_deref().filter(|e| !e.trim().is_empty()) {
        let _ = writeln!(out, "> **Error:** {}\n", error.trim().replace('\n', "\n> "));
    } else if m.status == MessageStatus::Error {
        out.push_str("> **Error**\n\n");
    }
    if let Some(usage) = &m.usage {
        let _ = writeln!(
            out,
            "<sub>{} input tokens · {} output tokens{}</sub>\n",
            usage.total_input(),
            usage.output_tokens,
            m.stop_reason
                .as_deref()
                .map(
                    |r| match m.response.as_ref().and_then(|r| r.stop_sequence.as_deref()) {
                        Some(sequence) => format!(" · stop: {r} {sequence:?}"),
                        None => format!(" · stop: {r}"),
                    }
                )
                .unwrap_or_default()
        );
    }
}

fn render_block(out: &mut String, block: &ContentBlock) {
    match block {
        ContentBlock::Text { text, .. } => {
            out.push_str(text);
            end_paragraph(out);
        }
        ContentBlock::Thinking { thinking, .. } => {
            out.push_str("<details>\n<summary>Thinking</summary>\n\n");
            out.push_str(thinking.trim_end());
            out.push_str("\n\n</details>\n\n");
        }
        ContentBlock::RedactedThinking { .. } => out.push_str("*(redacted thinking)*\n\n"),
        ContentBlock::ToolUse { name, input, .. } => {
            let _ = writeln!(out, "**Tool call:** `{name}`\n");
            fenced(out, "json", &pretty(input));
        }
        ContentBlock::Unknown(value) => {
            let kind = block.kind();
            match value.get("content") {
                Some(Value::String(text)) if kind == "tool_result" => {
                    out.push_str("**Tool result:**\n\n");
                    fenced(out, "text", text);
                }
                _ => {
                    let _ = writeln!(out, "**{kind}:**\n");
                    fenced(out, "json", &pretty(value));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Params;
    use serde_json::json;

    #[test]
    fn fences_outgrow_backticks_inside() {
        let mut out = String::new();
        fenced(&mut out, "json", "a ```` b");
        assert!(out.starts_with("`````json\n"), "{out}");
        assert!(out.ends_with("\n`````\n\n"), "{out}");
        let mut out = String::new();
        fenced(&mut out, "", "plain");
        assert_eq!(out, "```\nplain\n```\n\n");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_714_566_840_000), "2024-05-01 12:34 UTC");
        assert_eq!(format_time(i64::MAX), format!("{} ms", i64::MAX));
    }

    #[test]
    fn markdown_renders_every_block_kind() {
        let conversation = Conversation {
            id: "c1".into(),
            title: "Lifetimes".into(),
            created_at: 0,
            updated_at: 60_000,
            system: Some("Be brief.".into()),
            params: Params {
                max_tokens: Some(1024),
                temperature: Some(0.5),
                top_p: None,
                ..Params::default()
            },
            last_model: Some("claude-sonnet-4.5".into()),
        };
        let mut user = StoredMessage::user("c1", 0, "What is `'a`?");
        user.created_at = 0;
        let mut reply = StoredMessage::assistant_streaming("c1", 1, "claude-sonnet-4.5");
        reply.created_at = 60_000;
        reply.status = MessageStatus::Stopped;
        reply.content = vec![
            ContentBlock::Thinking {
                thinking: "They ask about lifetimes.".into(),
                signature: "sig".into(),
            },
            ContentBlock::RedactedThinking { data: "xx".into() },
            ContentBlock::text("A lifetime:\n\n```rust\nfn f<'a>(x: &'a str) {}\n```"),
            ContentBlock::ToolUse {
                id: "t1".into(),
                name: "search".into(),
                input: json!({"q": "```"}),
                extra: Default::default(),
            },
            ContentBlock::Unknown(
                json!({"type": "tool_result", "tool_use_id": "t1", "content": "found"}),
            ),
            ContentBlock::Unknown(json!({"type": "web_search_result", "url": "https://x"})),
        ];
        let md = render_markdown(&conversation, &["claude-sonnet-4.5".into()], &[user, reply]);
        for needle in [
            "# Lifetimes\n",
            "- Parameters: max_tokens 1024, temperature 0.5",
            "## System prompt\n\n```text\nBe brief.\n```",
            "## User · 1970-01-01 00:00 UTC\n\nWhat is `'a`?\n\n",
            "## Assistant · claude-sonnet-4.5 · 1970-01-01 00:01 UTC",
            "<details>\n<summary>Thinking</summary>\n\nThey ask about lifetimes.\n\n</details>",
            "*(redacted thinking)*",
            "```rust\nfn f<'a>(x: &'a str) {}\n```\n\n",
            "**Tool call:** `search`\n\n````json\n{\n  \"q\": \"```\"\n}\n````",
            "**Tool result:**\n\n```text\nfound\n```",
            "**web_search_result:**",
            "*(stopped before the end)*",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
        assert!(md.ends_with("*(stopped before the end)*\n"), "{md:?}");
    }
}
