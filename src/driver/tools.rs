//! The MCP side of the driver: the servers start when the app asks (its first prompt) or at
//! launch for those configured so, each call runs as a task, and every server stops when the
//! session ends.
//!
//! A call's task owns the call's future: aborting the task (Esc) drops it, which cancels the
//! call on its server. What a server sends reaches the app as data (`ToolOutcome`), and the
//! app sanitizes it where it is shown.

use crate::app::tools::{Tool, ToolOutcome};
use crate::app::{Action, Notice};

use super::effects::Driver;

impl Driver {
    /// Start every enabled server; answer with the tools of those that came up.
    pub(crate) fn start_tools(&self) {
        let (mcp, tx) = (self.mcp.clone(), self.tx.clone());
        tokio::spawn(async move {
            let (specs, notices) = mcp.tools().await;
            let tools = specs
                .into_iter()
                .map(|spec| Tool {
                    runs_unasked: mcp.runs_unasked(&spec.name),
                    name: spec.name,
                    description: spec.description,
                    input_schema: spec.input_schema,
                })
                .collect();
            let problems = notices
                .into_iter()
                .map(|n| format!("MCP server {}: {}", n.server, n.message))
                .collect();
            let _ = tx.send(Action::ToolsReady { tools, problems });
        });
    }

    /// At launch: the servers configured with `startup = true` start in the background; one
    /// that fails is said once.
    pub(crate) fn start_eager_tools(&self) {
        let (mcp, tx) = (self.mcp.clone(), self.tx.clone());
        tokio::spawn(async move {
            for notice in mcp.start_eager().await {
                let _ = tx.send(Action::Notify(Notice::error(format!(
                    "MCP server {}: {}",
                    notice.server, notice.message
                ))));
            }
        });
    }

    /// Run one call; answer with `Action::ToolFinished` (a cancelled call answers nothing).
    pub(crate) fn call_tool(
        &mut self,
        conversation: String,
        call: String,
        name: String,
        arguments: serde_json::Map<String, serde_json::Value>,
    ) {
        self.tool_calls.retain(|_, task| !task.is_finished());
        let (mcp, tx) = (self.mcp.clone(), self.tx.clone());
        let id = call.clone();
        let task = tokio::spawn(async move {
            let result = mcp
                .call(&name, arguments)
                .await
                .map(|output| ToolOutcome {
                    content: output.content,
                    is_error: output.is_error,
                    summary: output.summary,
                })
                .map_err(|e| e.to_string());
            let _ = tx.send(Action::ToolFinished {
                conversation,
                call,
                result,
            });
        });
        self.tool_calls.insert(id, task);
    }

    /// Cancel a running call: its future is dropped, and its server told.
    pub(crate) fn cancel_tool(&mut self, call: &str) {
        if let Some(task) = self.tool_calls.remove(call) {
            task.abort();
        }
    }
}
