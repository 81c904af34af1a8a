//! Slash commands typed in the input (`/system`, `/temp`, `/think`, `/stop`, `/model`...) and
//! the model choice they share with the picker. A command only sets the conversation's
//! parameter; whether the model takes it is decided when the request is built (and said then).

use crate::app::*;
use crate::config::{Effort, Thinking};
use crate::store::WriteCommand;

impl App {
    /// `/system`, `/temp`, `/max`, `/top_p`, `/top_k`, `/think`, `/effort`, `/stop`, `/model`,
    /// `/title`, `/continue`, `/regen`, `/edit`, `/branch`, `/compare`, `/pick`, `/tools`, `/attach`,
    /// `/detach`, `/cite`: one short arm per command, kept in one match so the list of commands is read
    /// in one place (the reason it is longer than the others).
    pub(super) fn slash_command(&mut self, rest: &str, effects: &mut Vec<Effect>) -> Slash {
        let (name, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let arg = arg.trim();
        let settings = self.settings.clone();
        let pane = self.pane_mut();
        let params = &mut pane.conversation.params;
        let notice = match name {
            "system" => {
                pane.conversation.system = (!arg.is_empty()).then(|| arg.to_owned());
                Ok(if arg.is_empty() {
                    "system prompt cleared".to_owned()
                } else {
                    "system prompt set".to_owned()
                })
            }
            "temp" | "temperature" => parse_opt(arg, crate::config::SAMPLING_RANGE).map(|v| {
                params.temperature = v;
                format!(
                    "temperature {}",
                    v.map_or("default".into(), |v| v.to_string())
                )
            }),
            "top_p" | "topp" => parse_opt(arg, crate::config::SAMPLING_RANGE).map(|v| {
                params.top_p = v;
                format!("top_p {}", v.map_or("default".into(), |v| v.to_string()))
            }),
            "max" | "max_tokens" => match arg.parse::<u32>() {
                Ok(n) if n > 0 => match params.thinking.check(n) {
                    Ok(()) => {
                        params.max_tokens = Some(n);
                        Ok(format!("max_tokens {n}"))
                    }
                    Err(e) => Err(format!("{e} (or /think off)")),
                },
                _ => Err("usage: /max N (a positive number of tokens)".to_owned()),
            },
            "think" | "thinking" => match arg.parse::<Thinking>() {
                Ok(thinking) => {
                    let max = params.max_tokens.unwrap_or(settings.max_tokens);
                    let shown = thinking.label().map_or("off".to_owned(), |l| {
                        l.trim_start_matches("think ").to_owned()
                    });
                    let mut text = format!("thinking {shown}");
                    if let Thinking::Budget(n) = thinking
                        && n >= max
                    {
                        let raised = n.saturating_add(crate::config::MIN_THINKING_BUDGET);
                        params.max_tokens = Some(raised);
                        text.push_str(&format!(
                            "; max_tokens raised to {raised} (it must exceed the budget)"
                        ));
                    }
                    params.thinking = thinking;
                    Ok(text)
                }
                Err(e) => Err(format!("usage: /think off|adaptive|N — {e}")),
            },
            "effort" => match arg {
                "off" | "default" => {
                    params.effort = None;
                    Ok("effort: the model's default".to_owned())
                }
                _ => match arg.parse::<Effort>() {
                    Ok(level) => {
                        params.effort = Some(level);
                        Ok(format!("effort {}", level.as_str()))
                    }
                    Err(e) => Err(format!("usage: /effort low|medium|high|max|off — {e}")),
                },
            },
            "stop" => match shlex::split(arg) {
                Some(words) if words.iter().any(|w| w.is_empty()) => {
                    Err("a stop sequence must not be empty".to_owned())
                }
                Some(words) if words.is_empty() => {
                    params.stop_sequences.clear();
                    Ok("stop sequences cleared".to_owned())
                }
                Some(words) => {
                    let shown: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
                    params.stop_sequences = words;
                    Ok(format!("stop at {}", shown.join(" ")))
                }
                None => Err(
                    "usage: /stop SEQ… (quote one with spaces: /stop \"###\" END; /stop alone clears)"
                        .to_owned(),
                ),
            },
            "top_k" | "topk" => match arg {
                "off" | "default" => {
                    params.top_k = None;
                    Ok("top_k default".to_owned())
                }
                _ => match arg.parse::<u32>() {
                    Ok(k) if k > 0 => {
                        params.top_k = Some(k);
                        Ok(format!("top_k {k}"))
                    }
                    _ => Err("usage: /top_k N|off (a positive whole number)".to_owned()),
                },
            },
            "title" | "rename" if !arg.is_empty() => {
                pane.conversation.title = arg.chars().take(120).collect();
                pane.title_from_user = true;
                Ok("renamed".to_owned())
            }
            "title" | "rename" => Err("usage: /title TEXT".to_owned()),
            "model" if !arg.is_empty() => match model_id(arg) {
                Ok(model) => {
                    self.choose_model(model, effects);
                    return Slash::Done;
                }
                Err(e) => Err(e),
            },
            "model" => Err("usage: /model ID (or Ctrl+P to pick one)".to_owned()),
            "continue" => {
                self.continue_last(effects);
                return Slash::Done;
            }
            "regen" | "regenerate" => {
                let model = match arg {
                    "" => None,
                    typed => match model_id(typed) {
                        Ok(model) => Some(model),
                        Err(e) => {
                            self.notify(Notice::error(e));
                            return Slash::Invalid;
                        }
                    },
                };
                self.regenerate_last(model, effects);
                return Slash::Done;
            }
            "edit" => {
                // The command line itself is no draft to give back.
                self.pane_mut().input = new_input();
                self.edit_last();
                // The input now holds the prompt to edit: it must not be cleared.
                return Slash::Kept;
            }
            "tools" => self.set_tool_choice(arg),
            "attach" => return self.attach_words(arg, effects),
            "detach" => self.detach(arg),
            "cite" => self.set_citations(arg),
            "compare" => self.set_compare(arg),
            "pick" => self.pick(arg, effects),
            "branch" => match arg {
                "prev" | "previous" => {
                    self.branch_last(-1, effects);
                    return Slash::Done;
                }
                "next" => {
                    self.branch_last(1, effects);
                    return Slash::Done;
                }
                _ => Err("usage: /branch prev|next".to_owned()),
            },
            _ => return Slash::Unknown(name.to_owned()),
        };
        match notice {
            Ok(text) => {
                self.conversation_changed(effects);
                self.notify(Notice::info(text));
                Slash::Done
            }
            Err(text) => {
                self.notify(Notice::error(text));
                Slash::Invalid
            }
        }
    }

    /// `/tools`: what the model is offered; `/tools auto|any|none|NAME`: the `tool_choice`
    /// of this conversation's requests from now on.
    fn set_tool_choice(&mut self, arg: &str) -> Result<String, String> {
        use crate::app::tools::ToolsState;
        let tools = &self.settings.tools;
        let offered = match self.tools_state {
            ToolsState::Off => "no MCP server is configured".to_owned(),
            ToolsState::NotStarted => "the MCP servers start with the first prompt".to_owned(),
            ToolsState::Starting => "the MCP servers are starting".to_owned(),
            ToolsState::Ready if tools.is_empty() => "no tools are offered".to_owned(),
            ToolsState::Ready => {
                let names: Vec<String> = tools
                    .iter()
                    .map(|t| crate::sanitize::for_terminal(&t.name).into_owned())
                    .collect();
                format!("{} tools: {}", names.len(), names.join(" "))
            }
        };
        if arg.is_empty() {
            return Ok(format!(
                "tool_choice {} · {offered}",
                self.pane().tool_choice.label()
            ));
        }
        let choice = crate::config::ToolChoice::parse(arg)?;
        if let crate::config::ToolChoice::Tool(name) = &choice
            && self.tools_state == ToolsState::Ready
            && !tools.iter().any(|t| &t.name == name)
        {
            return Err(format!(
                "no tool named {name} · usage: /tools auto|any|none|NAME · {offered}"
            ));
        }
        let label = choice.label().to_owned();
        self.pane_mut().tool_choice = choice;
        Ok(format!("tool_choice {label}"))
    }

    /// Any id is accepted (gateways offer more than any list); an unlisted one is said so, and
    /// offered in the picker from then on.
    pub(super) fn choose_model(&mut self, model: String, effects: &mut Vec<Effect>) {
        let known = self.models.contains(&model);
        if !known {
            self.models.push(model.clone());
        }
        let pane = self.pane_mut();
        pane.model = model.clone();
        pane.conversation.last_model = Some(model.clone());
        self.conversation_changed(effects);
        self.notify(Notice::info(if known {
            format!("next turn goes to {model}")
        } else {
            format!("{model} is not in the known list; the next turn goes to it as typed")
        }));
    }

    /// The active conversation's settings changed: stamp it and save its header.
    pub(super) fn conversation_changed(&mut self, effects: &mut Vec<Effect>) {
        let now_ms = self.now_ms;
        let pane = self.pane_mut();
        pane.conversation.updated_at = now_ms;
        if pane.saved {
            effects.push(Effect::Save(WriteCommand::UpdateConversation(
                pane.conversation.clone(),
            )));
        }
    }
}

/// The slash commands, as listed when an unknown one is typed (aliases work but are not shown).
pub(super) const SLASH_COMMANDS: [&str; 20] = [
    "system", "temp", "top_p", "top_k", "max", "think", "effort", "stop", "model", "title",
    "continue", "regen", "edit", "branch", "compare", "pick", "tools", "attach", "detach", "cite",
];

pub(super) fn parse_opt(
    arg: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, String> {
    if arg.is_empty() || arg == "default" || arg == "off" {
        return Ok(None);
    }
    match arg.parse::<f64>() {
        Ok(v) if range.contains(&v) => Ok(Some(v)),
        _ => Err(format!(
            "expected a number from {} to {} (or `default`)",
            range.start(),
            range.end()
        )),
    }
}

/// Whether a line after its `/` starts with a command name (letters, digits, `_`, `-`), as
/// `/help` does and `/etc/hosts` or `/ 2` do not: only those are taken as commands.
pub(super) fn is_command_word(rest: &str) -> bool {
    let name = rest.split(char::is_whitespace).next().unwrap_or("");
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A model id as typed: trimmed, one word, printable.
pub(super) fn model_id(typed: &str) -> Result<String, String> {
    let id = typed.trim();
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a model id is one word, without spaces or control characters".into());
    }
    Ok(id.to_owned())
}

/// What a `/command` line turned out to be.
pub(super) enum Slash {
    Done,
    /// Done, and the command put text in the input that must stay.
    Kept,
    Invalid,
    Unknown(String),
}
