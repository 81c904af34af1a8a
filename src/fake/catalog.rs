//! What each model the fake server knows can do: its limits, its thinking modes, its effort
//! levels and its minimum cacheable prompt.
//!
//! One table, read both by the validation (which refuses what the model does not support, as
//! the real API does) and by `GET /v1/models` (which reports the same facts as capabilities), so
//! the two can never disagree. The values follow Anthropic's model and feature pages for the
//! models of APIFree's list: adaptive thinking and effort `max` on the 4.6 models, effort up to
//! `high` on Opus 4.5, no effort elsewhere; no prefill on the 4.6 models; minimum cacheable prompt 4,096 tokens on Opus 4.6,
//! Opus 4.5 and Haiku 4.5 and 1,024 on the Sonnets. Ids the table does not know (added with
//! `--model`) get the capabilities of a Sonnet 4.5.

/// The effort levels of `output_config.effort`, lowest first.
pub(crate) const EFFORT_LEVELS: [&str; 4] = ["low", "medium", "high", "max"];

/// What one model supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModelSpec {
    pub created_at: &'static str,
    pub max_input_tokens: u64,
    /// The largest `max_tokens` a request may ask for.
    pub max_tokens: u64,
    /// `thinking: {"type": "adaptive"}` is accepted.
    pub adaptive_thinking: bool,
    /// How many of [`EFFORT_LEVELS`] the model accepts (0: no `output_config.effort` at all).
    pub effort_levels: usize,
    /// Prefixes shorter than this are not cached.
    pub min_cacheable_tokens: u64,
    /// A final assistant message (prefill) is taken; the 4.6 models refuse one.
    pub prefill: bool,
}

impl ModelSpec {
    /// Whether `output_config.effort` may be `level`.
    pub fn supports_effort(&self, level: &str) -> bool {
        EFFORT_LEVELS[..self.effort_levels].contains(&level)
    }
}

const SONNET_4_5: ModelSpec = ModelSpec {
    created_at: "2025-09-29T00:00:00Z",
    max_input_tokens: 200_000,
    max_tokens: 64_000,
    adaptive_thinking: false,
    effort_levels: 0,
    min_cacheable_tokens: 1024,
    prefill: true,
};

/// The spec of `id`; a Sonnet 4.5's, with an epoch release date, for ids it does not know.
pub(crate) fn spec(id: &str) -> ModelSpec {
    match id {
        "claude-sonnet-4" => ModelSpec {
            created_at: "2025-05-22T00:00:00Z",
            ..SONNET_4_5
        },
        "claude-sonnet-4.5" => SONNET_4_5,
        "claude-haiku-4.5" => ModelSpec {
            created_at: "2025-10-15T00:00:00Z",
            min_cacheable_tokens: 4096,
            ..SONNET_4_5
        },
        "claude-opus-4.5" => ModelSpec {
            created_at: "2025-11-24T00:00:00Z",
            effort_levels: 3,
            min_cacheable_tokens: 4096,
            ..SONNET_4_5
        },
        "claude-opus-4.6" => ModelSpec {
            created_at: "2026-02-04T00:00:00Z",
            max_input_tokens: 1_000_000,
            max_tokens: 128_000,
            adaptive_thinking: true,
            effort_levels: 4,
            min_cacheable_tokens: 4096,
            prefill: false,
        },
        "claude-sonnet-4.6" => ModelSpec {
            created_at: "2026-02-17T00:00:00Z",
            max_input_tokens: 1_000_000,
            max_tokens: 64_000,
            adaptive_thinking: true,
            effort_levels: 4,
            min_cacheable_tokens: 1024,
            prefill: false,
        },
        _ => ModelSpec {
            created_at: "1970-01-01T00:00:00Z",
            ..SONNET_4_5
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_four_six_models_think_adaptively() {
        for id in crate::fake::DEFAULT_MODELS {
            assert_eq!(spec(id).adaptive_thinking, id.ends_with("4.6"), "{id}");
        }
        assert!(spec("claude-opus-4.6").supports_effort("max"));
        assert!(!spec("claude-opus-4.5").supports_effort("max"));
        assert!(spec("claude-opus-4.5").supports_effort("low"));
        assert!(!spec("claude-sonnet-4.5").supports_effort("high"));
        assert!(!spec("claude-opus-4.6").supports_effort("huge"));
    }
}
