//! The tool loop: a reply that calls tools, the user's say over each call, the results going
//! back, and the next turn, until the model stops calling tools.
//!
//! A call the user has not allowed waits (`y` once, `a` always in this conversation, `n`
//! refuse, `e` edit the arguments); while any call of a reply is open the pane is busy, so no
//! prompt can slip in between a call and its result. When every call has ended, one user
//! message holds all the results, in the calls' order, and the next request goes out: the
//! history then reads call, result, call, result, which is what the API accepts. Esc ends the
//! loop: running calls are cancelled and every call without a result gets one saying the user
//! stopped it, so the conversation stays valid for the next prompt. After `max_tool_steps`
//! model turns the loop pauses and Enter goes on.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;

use crate::api::{ContentBlock, Role};
use crate::app::tools::{CallState, DECLINED, STOPPED, ToolCall, ToolOutcome, ToolsState};
use crate::app::*;
use crate::store::{StoredMessage, WriteCommand};

use super::stream::follows;

impl App {
    /// A prompt was saved in pane `index`: its reply starts now, or once the tools are up.
    pub(super) fn reply_when_tools_ready(&mut self, index: usize, effects: &mut Vec<Effect>) {
        self.panes[index].tool_steps = 0;
        self.panes[index].tool_cap_reached = false;
        match self.tools_state {
            ToolsState::Off | ToolsState::Ready => self.start_reply(index, effects),
            ToolsState::NotStarted => {
                self.tools_state = ToolsState::Starting;
                effects.push(Effect::StartTools);
                self.panes[index].waiting_for_tools = true;
                self.notify(Notice::info("starting the MCP servers…"));
            }
            ToolsState::Starting => self.panes[index].waiting_for_tools = true,
        }
    }

    /// The servers are up (those that could start): every waiting prompt goes out.
    pub(super) fn on_tools_ready(
        &mut self,
        tools: Vec<tools::Tool>,
        problems: Vec<String>,
        effects: &mut Vec<Effect>,
    ) {
        self.tools_state = ToolsState::Ready;
        std::sync::Arc::make_mut(&mut self.settings).tools = tools;
        if !problems.is_empty() {
            self.notify(Notice::error(problems.join("; ")));
        }
        for index in 0..self.panes.len() {
            if std::mem::take(&mut self.panes[index].waiting_for_tools) {
                self.start_reply(index, effects);
            }
        }
    }

    /// The reply in pane `index` ended asking for tools: each call runs, or waits for the
    /// user, or (a tool nobody offers) fails at once.
    pub(super) fn begin_tool_calls(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let settings = self.settings.clone();
        let pane = &mut self.panes[index];
        pane.tool_steps += 1;
        let Some(reply) = pane.messages.last_mut() else {
            return;
        };
        reply.calls = reply
            .stored
            .content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::ToolUse {
                    id, name, input, ..
                } => Some(ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                    edited: None,
                    state: CallState::Asking,
                }),
                _ => None,
            })
            .collect();
        reply.version += 1;
        let conversation = pane.conversation.id.clone();
        for call in &mut reply.calls {
            match settings.tools.iter().find(|t| t.name == call.name) {
                None => {
                    call.state = CallState::Done(ToolOutcome::error(format!(
                        "no tool named {} is available",
                        call.name
                    )));
                }
                Some(tool) if tool.runs_unasked || pane.always_allowed.contains(&call.name) => {
                    run(&conversation, call, effects);
                }
                Some(_) => {}
            }
        }
        self.advance_tool_loop(index, effects);
    }

    /// A call ended: its result is kept (cut to the configured size), and the loop goes on.
    pub(super) fn on_tool_finished(
        &mut self,
        conversation: &str,
        call: &str,
        result: Result<ToolOutcome, String>,
        effects: &mut Vec<Effect>,
    ) {
        let max = self.settings.tool_result_max_bytes;
        let Some(index) = self.panes.iter().position(|p| p.id() == conversation) else {
            return;
        };
        let Some(reply) = self.panes[index].messages.last_mut() else {
            return;
        };
        let Some(running) = reply
            .calls
            .iter_mut()
            .find(|c| c.id == call && c.state == CallState::Running)
        else {
            return; // stopped meanwhile, or not this reply's
        };
        running.state = CallState::Done(match result {
            Ok(outcome) => outcome.truncated(max),
            Err(message) => ToolOutcome::error(message),
        });
        reply.version += 1;
        self.advance_tool_loop(index, effects);
    }

    /// Once every call of the last reply has ended: the results are saved as one user
    /// message and the next turn goes out (or, at the step cap, waits for Enter).
    fn advance_tool_loop(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let pane = &self.panes[index];
        if pane.tool_calls_open() {
            let asking = pane
                .messages
                .last()
                .and_then(|m| m.calls.iter().find(|c| c.state == CallState::Asking));
            let notice = match asking {
                Some(call) => format!(
                    "run {}? y once · a always · n refuse · e edit · Esc stops",
                    crate::sanitize::for_terminal(&call.name)
                ),
                None => "running the tool calls · Esc stops".to_owned(),
            };
            // The input line and the status bar say it too: an error (a server that did not
            // start) is not pushed out by it.
            if self
                .notice
                .as_ref()
                .is_none_or(|n| n.kind != NoticeKind::Error)
            {
                self.notify(Notice::info(notice));
            }
            return;
        }
        if !self.save_results(index, effects) {
            return;
        }
        self.notice = None;
        let max_steps = self.settings.max_tool_steps;
        let pane = &mut self.panes[index];
        if pane.tool_steps >= max_steps {
            pane.tool_cap_reached = true;
            self.notify(Notice::info(format!(
                "{max_steps} tool steps in a row · Enter goes on · or type a message"
            )));
            return;
        }
        self.start_reply(index, effects);
    }

    /// The results of the last reply's calls, all ended, saved as one user message after
    /// it; the calls leave the reply (the results message shows them from now on). False
    /// when the last message has no calls.
    fn save_results(&mut self, index: usize, effects: &mut Vec<Effect>) -> bool {
        let now_ms = self.now_ms;
        let id = self.ids.next_id();
        let pane = &mut self.panes[index];
        let Some(reply) = pane.messages.last_mut() else {
            return false;
        };
        if reply.calls.is_empty() {
            return false;
        }
        let results = results_message(reply);
        reply.calls.clear();
        reply.version += 1;
        let seq = pane.next_seq();
        let mut message = follows(
            pane,
            StoredMessage::user_at(id, pane.conversation.id.clone(), seq, String::new(), now_ms),
        );
        message.content = results;
        effects.push(Effect::Save(WriteCommand::UpsertMessage(message.clone())));
        pane.push_message(message);
        true
    }

    /// The step cap was reached and Enter was pressed on an empty input: go on.
    pub(super) fn go_on_with_tools(&mut self, effects: &mut Vec<Effect>) -> bool {
        let pane = self.pane_mut();
        if !pane.tool_cap_reached || !pane.input_text().trim().is_empty() || pane.is_busy() {
            return false;
        }
        pane.tool_cap_reached = false;
        pane.tool_steps = 0;
        self.start_reply(self.active, effects);
        true
    }

    /// Esc while calls are open: running ones are cancelled, and every call without a result
    /// gets one saying so; the results are saved and no turn follows. True if there was a
    /// loop to stop.
    pub(super) fn stop_tool_loop(&mut self, index: usize, effects: &mut Vec<Effect>) -> bool {
        let pane = &mut self.panes[index];
        pane.editing_call = None;
        pane.tool_cap_reached = false;
        if std::mem::take(&mut pane.waiting_for_tools) {
            // The prompt stays; the next prompt is sent with it.
            self.notify(Notice::info("stopped before the reply began"));
            return true;
        }
        if !pane.tool_calls_open() {
            return false;
        }
        let Some(reply) = pane.messages.last_mut() else {
            return false;
        };
        for call in &mut reply.calls {
            if call.state == CallState::Running {
                effects.push(Effect::CancelTool {
                    call: call.id.clone(),
                });
            }
            if !matches!(call.state, CallState::Done(_)) {
                call.state = CallState::Done(ToolOutcome::error(STOPPED));
            }
        }
        self.save_results(index, effects);
        self.notify(Notice::info("tool loop stopped"));
        true
    }

    /// A key while the active pane's last reply has a call waiting for the user: `y`, `a`,
    /// `n`, `e` answer it; other typing is held (the call must be answered first). False for
    /// keys that are not the loop's (scrolling, tabs, quitting go on as usual).
    pub(super) fn on_tool_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
        let index = self.active;
        let pane = &mut self.panes[index];
        if pane.editing_call.is_some() {
            return self.on_edit_arguments_key(key, effects);
        }
        let Some(reply) = pane.messages.last_mut() else {
            return false;
        };
        let Some(position) = reply
            .calls
            .iter()
            .position(|c| c.state == CallState::Asking)
        else {
            return false;
        };
        let KeyCode::Char(c) = key.code else {
            return false;
        };
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return false;
        }
        let conversation = pane.conversation.id.clone();
        match c.to_ascii_lowercase() {
            'y' => run(&conversation, &mut reply.calls[position], effects),
            'a' => {
                let name = reply.calls[position].name.clone();
                for call in reply
                    .calls
                    .iter_mut()
                    .filter(|c| c.name == name && c.state == CallState::Asking)
                {
                    run(&conversation, call, effects);
                }
                pane.always_allowed.insert(name);
            }
            'n' => {
                reply.calls[position].state = CallState::Done(ToolOutcome::error(DECLINED));
            }
            'e' => {
                let call = &reply.calls[position];
                let json = serde_json::to_string_pretty(call.arguments())
                    .unwrap_or_else(|_| call.arguments().to_string());
                pane.editing_call = Some(call.id.clone());
                pane.input = new_input();
                pane.input.insert_str(json);
                self.notify(Notice::info(
                    "edit the arguments · Enter runs the call with them · Esc goes back",
                ));
                return true;
            }
            _ => {
                self.notify(Notice::info(
                    "a tool call waits: y once · a always · n refuse · e edit · Esc stops",
                ));
                return true;
            }
        }
        reply.version += 1;
        self.advance_tool_loop(index, effects);
        true
    }

    /// Keys while a call's arguments are in the input: Enter runs it with them (a JSON
    /// object), Esc goes back to the question; the rest edit the text as usual.
    fn on_edit_arguments_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
        let index = self.active;
        match key.code {
            KeyCode::Esc => {
                let pane = &mut self.panes[index];
                pane.editing_call = None;
                pane.input = new_input();
                self.advance_tool_loop(index, effects);
                true
            }
            KeyCode::Enter if key.modifiers.is_empty() => {
                let pane = &mut self.panes[index];
                let text = pane.input_text();
                let arguments = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => Value::Object(map),
                    Ok(_) => {
                        self.notify(Notice::error("the arguments must be a JSON object {…}"));
                        return true;
                    }
                    Err(e) => {
                        self.notify(Notice::error(format!("not valid JSON: {e}")));
                        return true;
                    }
                };
                let conversation = pane.conversation.id.clone();
                let id = pane.editing_call.take();
                pane.input = new_input();
                let Some(reply) = pane.messages.last_mut() else {
                    return true;
                };
                if let Some(call) = reply
                    .calls
                    .iter_mut()
                    .find(|c| Some(&c.id) == id.as_ref() && c.state == CallState::Asking)
                {
                    call.edited = (arguments != call.input).then_some(arguments);
                    run(&conversation, call, effects);
                }
                reply.version += 1;
                self.advance_tool_loop(index, effects);
                true
            }
            _ => false,
        }
    }
}

/// Start `call`: it runs with its (maybe edited) arguments.
fn run(conversation: &str, call: &mut ToolCall, effects: &mut Vec<Effect>) {
    let arguments = match call.arguments() {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    call.state = CallState::Running;
    effects.push(Effect::CallTool {
        conversation: conversation.to_owned(),
        call: call.id.clone(),
        name: call.name.clone(),
        arguments,
    });
}

/// The user message answering every call of `reply`: one `tool_result` per call, in order.
fn results_message(reply: &ChatMessage) -> Vec<ContentBlock> {
    debug_assert_eq!(reply.role(), Role::Assistant);
    reply
        .calls
        .iter()
        .filter_map(|call| match &call.state {
            CallState::Done(outcome) => Some(ContentBlock::Unknown(
                outcome.block(&call.id, call.edited.as_ref()),
            )),
            _ => None,
        })
        .collect()
}
