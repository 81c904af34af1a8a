//! Export for people (Markdown) and for machines (JSON that imports back losslessly).
//!
//! The Markdown is meant to be read or pasted elsewhere: the reply text is already Markdown and
//! goes out verbatim (code blocks intact); thinking folds into `<details>`, tool calls and other
//! blocks become fenced JSON whose fence is longer than any backtick run inside, so nothing
//! inside can close it early. The user message that carries tool results is headed `Tool
//! results`, each result named `↳ TOOL` after the call it answers (an error marked) with its
//! text fenced the same way. Times are UTC so an export reads the same everywhere.
//!
//! The JSON is the store's own types behind a `"format"` marker: every block (unknown kinds
//! verbatim), model, usage, status, error and parameter survives `export_json` → `import_json`.
//! `tern.conversation.v2` is the whole tree: every message with its `parent_id`, and the
//! conversation's `active_leaf`. `tern.conversation.v1` is a line (what tern wrote before
//! conversations were trees, and what `tern show --json` prints: the active path); importing
//! one links each message to the one before it. A tern that knows only v1 refuses a tree rather
//! than reading its branches as one line, and this one refuses markers it does not know.
//!
//! Markdown is the active path; a message that has alternatives says so in its heading
//! (`‹2/3›`: second of three siblings, by creation) and in a note line under it.
//!
//! Attached files: a message holds references (`tern_attachment` blocks), the bytes are kept
//! apart. The export file carries the bytes of every file its messages name, once each, base64
//! under their SHA-256 (`"attachments": {"<sha256>": {"media_type", "data"}}`; absent when there
//! are none, so a conversation without files exports as before), and import checks each against
//! its hash before anything is written. `tern show --json` prints the references only: it is for
//! reading, and a photo would be megabytes of base64. Markdown and the tree name each file
//! (`▣ shot.png 1.2 MB 1568×980 (scaled from 4000×3000)`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Conversation, MessageStatus, StoredMessage, now_ms};
use super::write::{Check, create_conversation, upsert_message};
use super::{Store, StoreError, attachments};
use crate::api::types::{ContentBlock, Role};
use crate::attach::Attachment;

/// The `format` marker of JSON exports (the whole tree).
pub const EXPORT_FORMAT: &str = "tern.conversation.v2";

/// The `format` marker of a conversation as one line (`tern show --json`: the active path).
pub const LINE_FORMAT: &str = "tern.conversation.v1";

#[derive(Serialize)]
struct ExportRef<'a> {
    format: &'static str,
    exported_at: i64,
    conversation: &'a Conversation,
    messages: &'a [StoredMessage],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attachments: &'a Files,
}

#[derive(Deserialize)]
struct ExportDoc {
    format: String,
    conversation: Conversation,
    #[serde(default)]
    messages: Vec<StoredMessage>,
    #[serde(default)]
    attachments: Files,
}

/// An attached file's bytes in an export, by SHA-256.
type Files = BTreeMap<String, ExportedFile>;

#[derive(Debug, Serialize, Deserialize)]
struct ExportedFile {
    media_type: String,
    /// The bytes, base64 (standard alphabet, padded).
    data: String,
}

fn to_json(
    id: &str,
    format: &'static str,
    conversation: &Conversation,
    messages: &[StoredMessage],
    attachments: &Files,
) -> Result<String, StoreError> {
    let doc = ExportRef {
        format,
        exported_at: now_ms(),
        conversation,
        messages,
        attachments,
    };
    serde_json::to_string_pretty(&doc).map_err(|e| StoreError::Decode {
        what: "conversation",
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

impl Store {
    /// The whole conversation tree as JSON ([`EXPORT_FORMAT`]), pretty-printed, with the
    /// bytes of the files its messages attach (a file whose bytes are no longer saved is left
    /// out, and importing the export then names it as missing).
    pub fn export_json(&self, id: &str) -> Result<String, StoreError> {
        let (conversation, messages) = self.load_tree(id)?;
        let files = self.exported_files(&messages)?;
        to_json(id, EXPORT_FORMAT, &conversation, &messages, &files)
    }

    /// The whole tree as JSON like [`Store::export_json`], without the attached bytes (the
    /// references stay): what `tern show --json --tree` prints.
    pub fn tree_json(&self, id: &str) -> Result<String, StoreError> {
        let (conversation, messages) = self.load_tree(id)?;
        to_json(id, EXPORT_FORMAT, &conversation, &messages, &Files::new())
    }

    /// The conversation's active path as JSON ([`LINE_FORMAT`]): what `tern show --json`
    /// prints, importable as a conversation of that one path (where the attached bytes are
    /// saved already: it carries only the references).
    pub fn export_path_json(&self, id: &str) -> Result<String, StoreError> {
        let (conversation, messages) = self.load(id)?;
        to_json(id, LINE_FORMAT, &conversation, &messages, &Files::new())
    }

    /// The saved bytes of every file `messages` attach, base64 by hash.
    fn exported_files(&self, messages: &[StoredMessage]) -> Result<Files, StoreError> {
        use base64::Engine as _;
        let mut files = Files::new();
        for m in messages {
            for a in attached(&m.content) {
                if files.contains_key(&a.sha256) {
                    continue;
                }
                if let Some(bytes) = self.attachment_bytes(&a.sha256)? {
                    let file = ExportedFile {
                        media_type: a.media_type.clone(),
                        data: base64::engine::general_purpose::STANDARD.encode(&bytes),
                    };
                    files.insert(a.sha256.clone(), file);
                }
            }
        }
        Ok(files)
    }

    /// Import a JSON export as a new conversation with the same ids; returns its id.
    ///
    /// Refuses ([`StoreError::AlreadyExists`]) if the conversation or any of its message ids is
    /// already saved, so importing twice never overwrites. A message exported while it was
    /// still streaming is imported as interrupted. A tree ([`EXPORT_FORMAT`]) keeps its parent
    /// links (each must name an earlier message of the export) and its active leaf; a line
    /// ([`LINE_FORMAT`]) is linked in `seq` order. All or nothing: one transaction.
    pub fn import_json(&mut self, json: &str) -> Result<String, StoreError> {
        let doc: ExportDoc = serde_json::from_str(json)
            .map_err(|e| StoreError::Import(format!("not a tern conversation export: {e}")))?;
        let tree = match doc.format.as_str() {
            EXPORT_FORMAT => true,
            LINE_FORMAT => false,
            other => {
                return Err(StoreError::Import(format!(
                    "unknown format {other:?} (this tern reads {EXPORT_FORMAT:?} and \
                     {LINE_FORMAT:?})"
                )));
            }
        };
        let mut conversation = doc.conversation;
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
        messages.sort_by_key(|m| m.seq);
        if tree {
            check_links(&messages)?;
        } else {
            let mut previous: Option<String> = None;
            for m in &mut messages {
                m.parent_id = previous.replace(m.id.clone());
            }
        }
        if !messages
            .iter()
            .any(|m| Some(&m.id) == conversation.active_leaf.as_ref())
        {
            conversation.active_leaf = None;
        }
        let files = decode_files(doc.attachments, &messages)?;
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
            let now = now_ms();
            for m in &messages {
                for a in attached(&m.content) {
                    match files.get(&a.sha256) {
                        Some((media_type, bytes)) => {
                            attachments::put(conn, &a.sha256, media_type, bytes, now)?;
                        }
                        None if attachments::has_bytes(conn, &a.sha256)? => {}
                        None => {
                            return Err(StoreError::Import(format!(
                                "the attached file {} ({}) of message {} is missing: the \
                                 export does not carry its bytes",
                                a.name,
                                short_hash(&a.sha256),
                                m.id
                            )));
                        }
                    }
                }
            }
            create_conversation(conn, &conversation)?;
            for m in &messages {
                upsert_message(conn, m, None, Check::None)?;
            }
            // Message writes bump the header and move the leaf; put back what was exported.
            conn.prepare_cached(
                "UPDATE conversations SET updated_at = ?2, last_model = ?3,
                    active_leaf = coalesce(?4, active_leaf) WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                conversation.id,
                conversation.updated_at,
                conversation.last_model,
                conversation.active_leaf,
            ])?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The conversation's active path as Markdown, for people.
    pub fn export_markdown(&self, id: &str) -> Result<String, StoreError> {
        let summary = self.summary(id)?;
        let (conversation, messages) = self.load(id)?;
        let nodes = super::read::tree_shape(&self.conn, id).map_err(|e| e.at(&self.path))?;
        let positions: Vec<(usize, usize)> = messages
            .iter()
            .map(|m| {
                nodes
                    .iter()
                    .position(|n| n.id == m.id)
                    .map_or((1, 1), |i| super::read::sibling_position(&nodes, i))
            })
            .collect();
        Ok(render_markdown(
            &conversation,
            &summary.models,
            &messages,
            &positions,
        ))
    }
}

/// How many lines of each message's text `tern show --tree` prints.
pub const TREE_TEXT_LINES: usize = 4;

impl Store {
    /// The whole tree as text, for `tern show ID --tree`: the title, then every message in
    /// tree order (depth first, siblings by creation), one header line each (`*` on the active
    /// path, role, model, the first 8 characters of its id, `‹n/m›` among siblings) and the
    /// first [`TREE_TEXT_LINES`] lines of its text indented below (an attached file a line). Indentation grows where the
    /// tree forks (a message with several children), not at every turn, so a long line of
    /// turns stays readable.
    pub fn tree_text(&self, id: &str) -> Result<String, StoreError> {
        let (conversation, messages) = self.load_tree(id)?;
        Ok(render_tree(&conversation, &messages))
    }
}

/// See [`Store::tree_text`]; `messages` in `seq` order.
pub(crate) fn render_tree(conversation: &Conversation, messages: &[StoredMessage]) -> String {
    use super::read::{Node, path_to, sibling_position};
    let nodes: Vec<Node> = messages.iter().map(Node::from).collect();
    let index: std::collections::HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut roots = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match n.parent_id.as_deref().and_then(|p| index.get(p)) {
            Some(&p) if p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let active: std::collections::HashSet<usize> =
        path_to(&nodes, conversation.active_leaf.as_deref())
            .into_iter()
            .collect();
    let leaves = children.iter().filter(|c| c.is_empty()).count();
    let names = tool_names(messages);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {}\n\n{} · {} message{} · {} branch{} · * marks the active path\n",
        conversation.title.trim(),
        conversation.id,
        messages.len(),
        if messages.len() == 1 { "" } else { "s" },
        leaves,
        if leaves == 1 { "" } else { "es" },
    );
    // Depth first, siblings in seq order; a fork indents its children one level.
    let fork = |siblings: usize, level: usize| if siblings > 1 { level + 1 } else { level };
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    let mut seen = vec![false; nodes.len()];
    while let Some((i, level)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let m = &messages[i];
        let pad = "  ".repeat(level);
        let mut header = format!(
            "{pad}{} {}",
            if active.contains(&i) { '*' } else { ' ' },
            if is_tool_results(m) {
                "tool results"
            } else {
                m.role.as_str()
            }
        );
        if let Some(model) = &m.model {
            let _ = write!(header, " · {model}");
        }
        let short: String = m.id.chars().take(8).collect();
        let _ = write!(header, " · {short}");
        let (position, count) = sibling_position(&nodes, i);
        if count > 1 {
            let _ = write!(header, " ‹{position}/{count}›");
        }
        if m.status != MessageStatus::Complete {
            let _ = write!(header, " ({})", m.status);
        }
        out.push_str(&header);
        out.push('\n');
        let mut body = String::new();
        for block in &m.content {
            render_tree_block(&mut body, block, &names);
        }
        if let Some(error) = m.error.as_deref().filter(|e| !e.trim().is_empty()) {
            let _ = writeln!(body, "Error: {}", error.trim());
        }
        let lines: Vec<&str> = body.trim().lines().collect();
        for line in lines.iter().take(TREE_TEXT_LINES) {
            let _ = writeln!(out, "{pad}    {}", line.trim_end());
        }
        if lines.len() > TREE_TEXT_LINES {
            let more = lines.len() - TREE_TEXT_LINES;
            let _ = writeln!(
                out,
                "{pad}    … ({more} more line{})",
                if more == 1 { "" } else { "s" }
            );
        }
        let kids = &children[i];
        let next = fork(kids.len(), level);
        stack.extend(kids.iter().rev().map(|&k| (k, next)));
    }
    out
}

/// The attachments `content` names, in order.
fn attached(content: &[ContentBlock]) -> impl Iterator<Item = &Attachment> {
    content.iter().filter_map(|b| match b {
        ContentBlock::Attachment(a) => Some(a),
        _ => None,
    })
}

/// The first 12 characters of a hash, as messages name a file by it.
fn short_hash(sha256: &str) -> String {
    let short: String = sha256.chars().take(12).collect();
    format!("sha256 {short}…")
}

/// An export's files, decoded and each checked against its hash: `(media type, bytes)` by hash.
/// A file is named by the first attachment of `messages` that refers to it. Files no message
/// names are left out.
fn decode_files(
    files: Files,
    messages: &[StoredMessage],
) -> Result<BTreeMap<String, (String, Vec<u8>)>, StoreError> {
    use base64::Engine as _;
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for a in messages.iter().flat_map(|m| attached(&m.content)) {
        names.entry(a.sha256.as_str()).or_insert(a.name.as_str());
    }
    let mut out = BTreeMap::new();
    for (sha256, file) in files {
        let Some(name) = names.get(sha256.as_str()) else {
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(file.data.as_bytes())
            .map_err(|e| {
                StoreError::Import(format!(
                    "the attached file {name} ({}) is not valid base64: {e}",
                    short_hash(&sha256)
                ))
            })?;
        if crate::attach::sha256_hex(&bytes) != sha256 {
            return Err(StoreError::Import(format!(
                "the attached file {name}: its data does not match its {} (changed or damaged \
                 since it was exported)",
                short_hash(&sha256)
            )));
        }
        out.insert(sha256, (file.media_type, bytes));
    }
    Ok(out)
}

/// Refuse a tree whose parent links do not each name an earlier message of it (`messages` in
/// `seq` order), so what is imported is a tree.
fn check_links(messages: &[StoredMessage]) -> Result<(), StoreError> {
    let mut earlier = std::collections::HashSet::new();
    for m in messages {
        if let Some(parent) = &m.parent_id
            && !earlier.contains(parent.as_str())
        {
            return Err(StoreError::Import(format!(
                "message {} follows {parent}, which is not an earlier message of the export",
                m.id
            )));
        }
        earlier.insert(m.id.as_str());
    }
    Ok(())
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
/// prompt), then each message under a heading of its own. `positions` holds each message's
/// place among its siblings (`(1, 1)`: none), as [`super::read::sibling_position`] gives it.
pub(crate) fn render_markdown(
    conversation: &Conversation,
    models: &[String],
    messages: &[StoredMessage],
    positions: &[(usize, usize)],
) -> String {
    let mut out = String::new();
    render_header(&mut out, conversation, models);
    let names = tool_names(messages);
    for (i, m) in messages.iter().enumerate() {
        let position = positions.get(i).copied().unwrap_or((1, 1));
        render_message(&mut out, m, position, &conversation.id, &names);
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

/// One message: a rule, `## Role · model · time` (`## Tool results` for the user message that
/// only carries them; `‹n/m›` when it has siblings, with a note line saying so), its blocks,
/// then how it ended (a status note, its error) and its token counts.
fn render_message(
    out: &mut String,
    m: &StoredMessage,
    (position, siblings): (usize, usize),
    conversation_id: &str,
    names: &ToolNames,
) {
    out.push_str("---\n\n");
    let mut heading = match m.role {
        Role::User if is_tool_results(m) => "## Tool results".to_owned(),
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
    if siblings > 1 {
        let _ = write!(heading, " ‹{position}/{siblings}›");
    }
    let _ = writeln!(out, "{heading}\n");
    if siblings > 1 {
        let short: String = conversation_id.chars().take(8).collect();
        let _ = writeln!(
            out,
            "*(alternative {position} of {siblings}; `tern show {short} --tree` shows them all)*\n"
        );
    }

    for block in &m.content {
        render_block(out, block, names);
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

/// Each `tool_use` id of `messages` and the name of the tool it calls, to name the results.
type ToolNames = std::collections::HashMap<String, String>;

fn tool_names(messages: &[StoredMessage]) -> ToolNames {
    messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|block| match block {
            ContentBlock::ToolUse { id, name, .. } => Some((id.clone(), name.clone())),
            _ => None,
        })
        .collect()
}

/// A user message made only of `tool_result` blocks: what the tool loop sends back.
fn is_tool_results(m: &StoredMessage) -> bool {
    m.role == Role::User
        && !m.content.is_empty()
        && m.content.iter().all(|b| b.kind() == "tool_result")
}

/// A `tool_result` block's parts: the name of the tool it answers (its call's id when that call
/// is not among the messages), its text (images as a line naming them), whether it failed.
fn tool_result(value: &Value, names: &ToolNames) -> (String, String, bool) {
    let id = value
        .get("tool_use_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let text = crate::app::tools::result_text(value.get("content"));
    let is_error = value.get("is_error").and_then(Value::as_bool) == Some(true);
    (name, text, is_error)
}

/// A block as `tern show --tree` prints it under its message: as in Markdown, except that tool
/// calls, results and attached files take one line to say what they are (`tool call: NAME
/// {…}`, `↳ NAME: …`, `▤ paper.pdf 1 KB 12 pages`).
fn render_tree_block(out: &mut String, block: &ContentBlock, names: &ToolNames) {
    if matches!(
        block,
        ContentBlock::ToolUse { .. } | ContentBlock::Attachment(_)
    ) || block.kind() == "tool_result"
    {
        // Right under the text before it: these are lines, not paragraphs.
        while out.ends_with("\n\n") {
            out.pop();
        }
    }
    match block {
        ContentBlock::ToolUse { name, input, .. } => {
            let _ = writeln!(out, "tool call: {name} {input}");
        }
        ContentBlock::Attachment(attachment) => {
            let _ = writeln!(out, "{}", attachment_line(attachment));
        }
        ContentBlock::Unknown(value) if block.kind() == "tool_result" => {
            let (name, text, is_error) = tool_result(value, names);
            let error = if is_error { " (error)" } else { "" };
            let _ = match text.trim() {
                "" => writeln!(out, "↳ {name}{error} (no output)"),
                text => writeln!(out, "↳ {name}{error}: {text}"),
            };
        }
        other => render_block(out, other, names),
    }
}

/// An attached file as people read it: `▣ shot.png 1.2 MB 1568×980`, and how it was scaled
/// when it was (` (scaled from 4000×3000)`).
fn attachment_line(attachment: &Attachment) -> String {
    match attachment.scaled_note() {
        Some(note) => format!("{attachment} ({note})"),
        None => attachment.to_string(),
    }
}

fn render_block(out: &mut String, block: &ContentBlock, names: &ToolNames) {
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
        ContentBlock::Unknown(value) if block.kind() == "tool_result" => {
            let (name, text, is_error) = tool_result(value, names);
            let error = if is_error { " (error)" } else { "" };
            let _ = writeln!(out, "**↳ `{name}`{error}**\n");
            if text.trim().is_empty() {
                out.push_str("*(no output)*\n\n");
            } else {
                fenced(out, "text", &text);
            }
        }
        ContentBlock::Attachment(attachment) => {
            let _ = writeln!(out, "**Attached:** {}\n", attachment_line(attachment));
        }
        ContentBlock::Unknown(value) => {
            let _ = writeln!(out, "**{}:**\n", block.kind());
            fenced(out, "json", &pretty(value));
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
            active_leaf: None,
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
        let md = render_markdown(
            &conversation,
            &["claude-sonnet-4.5".into()],
            &[user, reply],
            &[(1, 1), (2, 3)],
        );
        for needle in [
            "# Lifetimes\n",
            "- Parameters: max_tokens 1024, temperature 0.5",
            "## System prompt\n\n```text\nBe brief.\n```",
            "## User · 1970-01-01 00:00 UTC\n\nWhat is `'a`?\n\n",
            "## Assistant · claude-sonnet-4.5 · 1970-01-01 00:01 UTC ‹2/3›\n\n\
             *(alternative 2 of 3; `tern show c1 --tree` shows them all)*\n\n",
            "<details>\n<summary>Thinking</summary>\n\nThey ask about lifetimes.\n\n</details>",
            "*(redacted thinking)*",
            "```rust\nfn f<'a>(x: &'a str) {}\n```\n\n",
            "**Tool call:** `search`\n\n````json\n{\n  \"q\": \"```\"\n}\n````",
            "**↳ `search`**\n\n```text\nfound\n```",
            "**web_search_result:**",
            "*(stopped before the end)*",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
        assert!(md.ends_with("*(stopped before the end)*\n"), "{md:?}");
    }
}
