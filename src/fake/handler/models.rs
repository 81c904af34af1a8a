//! `GET /v1/models` and `GET /v1/models/{id}`: the configured ids as the real endpoint lists
//! them (display names, release dates, limits and capabilities, one page). Apart from the
//! messages route because it shares nothing with it but authentication and the model table
//! (`catalog.rs`), which the validation reads too.

use super::super::ServerState;
use super::super::catalog::{self, EFFORT_LEVELS, ModelSpec};
use super::super::reply;
use super::super::wire::{
    Capabilities, ContextManagement, Effort, ModelInfo, ModelPage, ServerTools, Supported,
    Thinking, ThinkingTypes,
};
use super::answer::Answer;

/// `GET /v1/models` (rest `""`) or `GET /v1/models/{id}` (rest `"/{id}"`).
pub(super) fn respond_models(state: &ServerState, rest: &str) -> Answer {
    let models = &state.config.models;
    if rest.is_empty() || rest == "/" {
        let mut data: Vec<ModelInfo<'_>> = models.iter().map(|id| model_info(id)).collect();
        if state.config.hostile_models {
            data.extend(reply::hostile_models());
        }
        let page = ModelPage {
            data,
            first_id: models.first().map(String::as_str),
            last_id: models.last().map(String::as_str),
            has_more: false,
        };
        return Answer::json(200, &page);
    }
    let id = rest.trim_start_matches('/');
    if models.iter().any(|model| model == id) {
        Answer::json(200, &model_info(id))
    } else {
        Answer::error(404, "not_found_error", format!("model: {id} not found"))
    }
}

fn model_info(id: &str) -> ModelInfo<'_> {
    let spec = catalog::spec(id);
    ModelInfo {
        kind: "model",
        id,
        display_name: display_name(id),
        created_at: spec.created_at,
        lifecycle: "active",
        max_input_tokens: Some(spec.max_input_tokens),
        max_tokens: Some(spec.max_tokens),
        capabilities: Some(capabilities(&spec)),
    }
}

/// The capabilities the Models API reports for a model of `spec`.
fn capabilities(spec: &ModelSpec) -> Capabilities {
    let yes = Supported { supported: true };
    let no = Supported { supported: false };
    let effort = |level: &str| Supported {
        supported: spec.supports_effort(level),
    };
    Capabilities {
        batch: yes,
        citations: yes,
        code_execution: yes,
        context_management: ContextManagement {
            clear_thinking_20251015: yes,
            clear_tool_uses_20250919: yes,
            compact_20260112: Supported {
                supported: spec.adaptive_thinking,
            },
            supported: true,
        },
        effort: Effort {
            high: effort(EFFORT_LEVELS[2]),
            low: effort(EFFORT_LEVELS[0]),
            max: effort(EFFORT_LEVELS[3]),
            medium: effort(EFFORT_LEVELS[1]),
            supported: spec.effort_levels > 0,
        },
        image_input: yes,
        pdf_input: yes,
        server_tools: ServerTools {
            code_execution: yes,
            supported: true,
            web_search: yes,
        },
        structured_outputs: if spec.adaptive_thinking { yes } else { no },
        thinking: Thinking {
            supported: true,
            types: ThinkingTypes {
                adaptive: Supported {
                    supported: spec.adaptive_thinking,
                },
                disabled: yes,
                enabled: yes,
            },
        },
    }
}

/// `claude-opus-4.6` → `Claude Opus 4.6`.
fn display_name(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_title_case() {
        assert_eq!(display_name("claude-opus-4.6"), "Claude Opus 4.6");
        assert_eq!(display_name(""), "");
        assert_eq!(display_name("a--b"), "A  B");
    }
}
