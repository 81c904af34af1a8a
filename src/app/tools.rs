//! The tool loop's state: the tools the model may call, and the calls of the reply in progress.
//!
//! The app knows tools as plain data (a name, a description, a schema, whether it runs without
//! asking); where they come from (MCP servers) is the driver's business, so the reducer stays
//! pure and is tested without a server. A reply's calls live on its [`ChatMessage`] (its
//! `calls`) while they are asked about and run, so the view draws each call's state with the
//! call, and the transcript cache sees a change as a new version of that message. Once every
//! call has its result, the results go into the conversation as one user message of
//! `tool_result` blocks, in the order of the calls: what the API takes, and what is saved.
//!
//! [`ChatMessage`]: super::ChatMessage

use serde_json::Value;

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// As the model sees it: `server__tool`.
    pub name: String,
    pub description: Option<String>,
    /// The JSON schema of its input, as the server gave it.
    pub input_schema: Value,
    /// Its server's `approve` lets it run without asking.
    pub runs_unasked: bool,
}

impl Tool {
    /// The request's `tools` entry.
    pub fn to_api(&self) -> Value {
        let mut tool = serde_json::json!({
            "name": self.name,
            "input_schema": self.input_schema,
        });
        if let Some(description) = &self.description {
            tool["description"] = Value::String(description.clone());
        }
        tool
    }
}

/// Put `tools` (their request entries) and `choice` on `request`, as every request with
/// tools carries them (the app's and `tern -p`'s): no tools, no fields; `tool_choice` only
/// when it is not the API's default, and a choice naming a tool that is not offered falls
/// back to auto. Run before [`crate::config::apply_rules`], which turns a forced choice into
/// auto when thinking is on.
pub fn offer(
    request: &mut crate::api::MessagesRequest,
    tools: Vec<Value>,
    choice: &crate::config::ToolChoice,
    disable_parallel: bool,
) {
    use crate::config::ToolChoice;
    if tools.is_empty() {
        return;
    }
    let choice = match choice {
        ToolChoice::Tool(name)
            if !tools
                .iter()
                .any(|t| t.get("name").and_then(Value::as_str) == Some(name)) =>
        {
            &ToolChoice::Auto
        }
        choice => choice,
    };
    if *choice != ToolChoice::Auto || disable_parallel {
        request.tool_choice = Some(choice.to_json(disable_parallel));
    }
    request.tools = Some(tools);
}

/// Where the tools stand for the whole app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolsState {
    /// No MCP server is configured: requests carry no tools.
    #[default]
    Off,
    /// Servers are configured and start on the first prompt.
    NotStarted,
    /// The driver is starting them; prompts wait.
    Starting,
    /// Started (those that could be): `App::tools` holds their tools.
    Ready,
}

/// One `tool_use` of a reply, and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The block's id, which its `tool_result` names.
    pub id: String,
    pub name: String,
    /// What the model asked for.
    pub input: Value,
    /// What the user changed it to (`e`), run instead.
    pub edited: Option<Value>,
    pub state: CallState,
}

impl ToolCall {
    /// The arguments the call runs with.
    pub fn arguments(&self) -> &Value {
        self.edited.as_ref().unwrap_or(&self.input)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallState {
    /// Waiting for the user: run once, always, refuse, edit.
    Asking,
    /// Running on its server.
    Running,
    /// Ended: its result, to go back to the model.
    Done(ToolOutcome),
}

/// What a call's `tool_result` says.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// The `tool_result` content: text and image blocks.
    pub content: Vec<Value>,
    pub is_error: bool,
    /// For the screen: the text, an image named by a line.
    pub summary: String,
}

/// Why a call did not run: each goes back to the model as an error result, so it knows.
pub const DECLINED: &str = "the user declined to run this tool";
pub const STOPPED: &str = "the user stopped the tool loop before this call finished";

impl ToolOutcome {
    /// An error result whose text is `message`.
    pub fn error(message: impl Into<String>) -> ToolOutcome {
        let message = message.into();
        ToolOutcome {
            content: vec![serde_json::json!({ "type": "text", "text": message })],
            is_error: true,
            summary: message,
        }
    }

    /// The result cut so its text totals at most `max_bytes`, with a note at the cut; the
    /// text blocks after it go (the API refuses an empty text block), images stay (the API
    /// bounds them itself).
    pub fn truncated(mut self, max_bytes: usize) -> ToolOutcome {
        let total: usize = self.content.iter().map(text_len).sum();
        if total <= max_bytes {
            return self;
        }
        let note = format!(
            "\n[… cut: the result has {total} bytes of text, more than tool_result_max_bytes = \
             {max_bytes}]"
        );
        let mut left = max_bytes;
        let mut cut = false;
        self.content.retain_mut(|block| {
            let Some(text) = block.get("text").and_then(Value::as_str) else {
                return true;
            };
            if cut {
                return false;
            }
            if text.len() <= left {
                left -= text.len();
                return true;
            }
            let mut kept = text[..floor_char_boundary(text, left)].to_owned();
            kept.push_str(&note);
            block["text"] = Value::String(kept);
            cut = true;
            true
        });
        if self.summary.len() > max_bytes {
            let at = floor_char_boundary(&self.summary, max_bytes);
            self.summary.truncate(at);
            self.summary.push_str(&note);
        }
        self
    }

    /// The `tool_result` block answering the call `id`; a call run with edited arguments
    /// says so first, since the model's `tool_use` still holds what it asked for.
    pub fn block(&self, id: &str, edited: Option<&Value>) -> Value {
        let mut content = self.content.clone();
        if let Some(arguments) = edited {
            content.insert(
                0,
                serde_json::json!({
                    "type": "text",
                    "text": format!("(the user edited the arguments; the tool ran with {arguments})"),
                }),
            );
        }
        let mut block = serde_json::json!({
            "type": "tool_result",
            "tool_use_id": id,
            "content": content,
        });
        if self.is_error {
            block["is_error"] = Value::Bool(true);
        }
        block
    }
}

/// The largest index `<= at` that is a character boundary of `text`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn text_len(block: &Value) -> usize {
    block
        .get("text")
        .and_then(Value::as_str)
        .map_or(0, str::len)
}

/// The `tool_result` blocks of a user message: `(tool_use_id, the text, is_error)`.
pub fn results_of(content: &[crate::api::ContentBlock]) -> Vec<(&str, String, bool)> {
    content
        .iter()
        .filter_map(|block| match block {
            crate::api::ContentBlock::Unknown(v)
                if v.get("type").and_then(Value::as_str) == Some("tool_result") =>
            {
                let id = v.get("tool_use_id").and_then(Value::as_str).unwrap_or("");
                let is_error = v.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                Some((id, result_text(v.get("content")), is_error))
            }
            _ => None,
        })
        .collect()
}

/// A `tool_result`'s content as text: strings as they are, an image as a line naming it.
pub fn result_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                Some("image") => {
                    let media = b
                        .pointer("/source/media_type")
                        .and_then(Value::as_str)
                        .unwrap_or("image");
                    format!("[image {media}]")
                }
                Some(other) => format!("[{other}]"),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_result_is_cut_with_a_note_at_the_cut_and_images_stay() {
        let outcome = ToolOutcome {
            content: vec![
                serde_json::json!({"type": "text", "text": "héllo"}),
                serde_json::json!({"type": "image", "source": {}}),
                serde_json::json!({"type": "text", "text": "world"}),
                serde_json::json!({"type": "text", "text": "gone"}),
            ],
            is_error: false,
            summary: "héllo\n[image]\nworld\ngone".into(),
        };
        assert_eq!(outcome.clone().truncated(100), outcome);
        let cut = outcome.truncated(9);
        assert_eq!(cut.content.len(), 3, "the blocks past the cut go");
        assert_eq!(cut.content[1]["type"], "image");
        assert_eq!(
            cut.content[2]["text"],
            "wor\n[… cut: the result has 15 bytes of text, more than tool_result_max_bytes = 9]"
        );
        assert!(
            cut.summary.starts_with("héllo\n[i\n[… cut"),
            "{}",
            cut.summary
        );
        let split = ToolOutcome {
            content: vec![serde_json::json!({"type": "text", "text": "éé"})],
            is_error: false,
            summary: "éé".into(),
        }
        .truncated(3);
        assert!(
            split.summary.starts_with("é\n[…"),
            "a character is not split"
        );
        assert!(
            split.content[0]["text"]
                .as_str()
                .unwrap()
                .starts_with("é\n[…"),
            "{:?}",
            split.content
        );
    }

    #[test]
    fn a_result_block_names_its_call_and_says_when_arguments_were_edited() {
        let block = ToolOutcome::error(DECLINED).block("toolu_1", None);
        assert_eq!(
            block,
            serde_json::json!({
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": [{"type": "text", "text": DECLINED}],
                "is_error": true,
            })
        );
        let edited = serde_json::json!({"path": "b.txt"});
        let ok = ToolOutcome {
            content: vec![serde_json::json!({"type": "text", "text": "hi"})],
            is_error: false,
            summary: "hi".into(),
        };
        let block = ok.block("toolu_2", Some(&edited));
        assert!(block.get("is_error").is_none());
        assert!(
            block["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains(r#"{"path":"b.txt"}"#)
        );
        let content = [crate::api::ContentBlock::Unknown(block)];
        let results = results_of(&content);
        assert_eq!(results[0].0, "toolu_2");
        assert!(results[0].1.ends_with("\nhi"));
    }
}
