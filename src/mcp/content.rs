//! From MCP's shapes to the API's: a tool's name for the model, a result's blocks.
//!
//! The API takes text and base64 images (JPEG, PNG, GIF, WebP) in a `tool_result`; anything
//! else a server returns (audio, other images, binary resources, links) becomes a line of text
//! naming it, so the model knows it was there and the request stays valid.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Value, json};

use super::ToolOutput;
use crate::config::{MAX_TOOL_NAME, TOOL_NAME_SEPARATOR};

/// The image types the API accepts in a `tool_result`.
const API_IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// `server__tool` with each character the API does not allow in a name (letters, digits, `_`,
/// `-`) made `_`; `None` when it is longer than the API allows or the tool has no name.
pub fn api_tool_name(server: &str, tool: &str) -> Option<String> {
    if tool.is_empty() {
        return None;
    }
    let mut name = format!("{server}{TOOL_NAME_SEPARATOR}");
    name.extend(tool.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '_'
        }
    }));
    (name.chars().count() <= MAX_TOOL_NAME).then_some(name)
}

/// A call's result as API blocks and as a summary for the screen.
pub fn tool_output(result: &CallToolResult) -> ToolOutput {
    let mut out = Out::default();
    for block in &result.content {
        match block {
            ContentBlock::Text(t) => out.text(t.text.clone()),
            ContentBlock::Image(image) => {
                let label = format!("[image {} {}]", image.mime_type, size(&image.data));
                if API_IMAGE_TYPES.contains(&image.mime_type.as_str()) {
                    let block = json!({
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": image.mime_type,
                            "data": image.data,
                        }
                    });
                    out.push(block, label);
                } else {
                    out.text(format!(
                        "{label} (not sent: the API takes JPEG, PNG, GIF and WebP)"
                    ));
                }
            }
            ContentBlock::Audio(audio) => out.text(format!(
                "[audio {} {}] (not sent: the API takes no audio)",
                audio.mime_type,
                size(&audio.data)
            )),
            ContentBlock::Resource(resource) => match &resource.resource {
                ResourceContents::TextResourceContents {
                    uri, text: body, ..
                } => {
                    let block = json!({ "type": "text", "text": body });
                    out.push(block, format!("[resource {uri}]\n{body}"));
                }
                ResourceContents::BlobResourceContents {
                    uri,
                    mime_type,
                    blob,
                    ..
                } => out.text(format!(
                    "[resource {uri} {} {}] (binary, not sent)",
                    mime_type.as_deref().unwrap_or("application/octet-stream"),
                    size(blob)
                )),
                _ => out.text("[resource of a kind tern does not know]".into()),
            },
            ContentBlock::ResourceLink(link) => {
                out.text(format!("[resource {} {}]", link.name, link.uri));
            }
            // A kind newer than this code: say so rather than drop it unseen.
            _ => out.text("[content of a kind tern does not know]".into()),
        }
    }
    if out.content.is_empty()
        && let Some(structured) = &result.structured_content
    {
        out.text(structured.to_string());
    }
    ToolOutput {
        content: out.content,
        is_error: result.is_error.unwrap_or(false),
        summary: out.summary.join("\n"),
    }
}

/// The blocks for the API and the lines for the screen, built side by side.
#[derive(Default)]
struct Out {
    content: Vec<Value>,
    summary: Vec<String>,
}

impl Out {
    fn push(&mut self, block: Value, line: String) {
        self.content.push(block);
        self.summary.push(line);
    }

    fn text(&mut self, line: String) {
        self.push(json!({ "type": "text", "text": line }), line);
    }
}

/// The decoded size of base64 `data`: `12.3 KB`, `512 B`.
fn size(data: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_or(data.len() * 3 / 4, |b| b.len());
    if bytes < 1000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.1} KB", bytes as f64 / 1000.0)
    } else {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_namespaced_and_fit_the_api() {
        assert_eq!(
            api_tool_name("files", "read").as_deref(),
            Some("files__read")
        );
        assert_eq!(
            api_tool_name("files", "read.file v2").as_deref(),
            Some("files__read_file_v2")
        );
        assert_eq!(api_tool_name("files", ""), None);
        let long = "x".repeat(MAX_TOOL_NAME - "files__".len());
        assert!(api_tool_name("files", &long).is_some());
        assert_eq!(api_tool_name("files", &format!("{long}y")), None);
    }

    #[test]
    fn blocks_become_api_blocks_and_a_summary() {
        let result: CallToolResult = serde_json::from_value(json!({
            "content": [
                {"type": "text", "text": "hello"},
                {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
                {"type": "image", "data": "PHN2Zz4=", "mimeType": "image/svg+xml"},
                {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "body"}},
                {"type": "resource_link", "uri": "file:///b", "name": "b"}
            ],
            "isError": true
        }))
        .unwrap();
        let output = tool_output(&result);
        assert!(output.is_error);
        assert_eq!(output.content[0], json!({"type": "text", "text": "hello"}));
        assert_eq!(
            output.content[1],
            json!({"type": "image", "source": {
                "type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="
            }})
        );
        assert_eq!(output.content[2]["type"], "text");
        assert_eq!(output.content[3], json!({"type": "text", "text": "body"}));
        assert_eq!(
            output.summary,
            "hello\n[image image/png 8 B]\n[image image/svg+xml 5 B] (not sent: the API takes \
             JPEG, PNG, GIF and WebP)\n[resource file:///a.txt]\nbody\n[resource b file:///b]"
        );
    }

    #[test]
    fn structured_content_alone_is_sent_as_text() {
        let result: CallToolResult =
            serde_json::from_value(json!({"content": [], "structuredContent": {"n": 3}})).unwrap();
        let output = tool_output(&result);
        assert!(!output.is_error);
        assert_eq!(output.summary, r#"{"n":3}"#);
    }
}
