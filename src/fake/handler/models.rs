//! `GET /v1/models` and `GET /v1/models/{id}`: the configured ids as the real endpoint lists
//! them (display names, release dates, one page). Apart from the messages route because it
//! shares nothing with it but authentication.

use super::super::ServerState;
use super::super::reply;
use super::super::wire::{ModelInfo, ModelPage};
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
    ModelInfo {
        kind: "model",
        id,
        display_name: display_name(id),
        created_at: created_at(id),
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

/// Release dates of the default models; the epoch for others, as the real API allows.
fn created_at(id: &str) -> &'static str {
    match id {
        "claude-sonnet-4" => "2025-05-22T00:00:00Z",
        "claude-sonnet-4.5" => "2025-09-29T00:00:00Z",
        "claude-haiku-4.5" => "2025-10-15T00:00:00Z",
        "claude-opus-4.5" => "2025-11-24T00:00:00Z",
        "claude-opus-4.6" => "2026-02-04T00:00:00Z",
        "claude-sonnet-4.6" => "2026-02-17T00:00:00Z",
        _ => "1970-01-01T00:00:00Z",
    }
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
