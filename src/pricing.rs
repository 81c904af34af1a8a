//! Estimated cost of a conversation, from the per-model prices in the configuration.
//!
//! Prices are USD per million tokens (`ModelSpec::input_price`, `output_price`, and the cache's
//! `cache_write_5m_price`, `cache_write_1h_price`, `cache_read_price`, which default to the
//! API's ratios of the input price). Cache writes are priced by lifetime from
//! `usage.cache_creation` when the server splits them, else all at the configured
//! `prompt_cache` lifetime (the one tern asked for). The figures are
//! estimates shown beside a reply, never a bill, so a turn whose model has no price simply
//! does not count. Kept out of the view so that anything that sums a conversation (the status
//! bar today, `tern stats` later) prices it the same way.

use crate::api::Usage;
use crate::config::{CACHE_RATIOS, ModelSpec, PromptCache};

/// One turn's cost, when its model has both prices; `cache` is the configured lifetime, for
/// writes the server does not split.
pub fn turn_cost(spec: &ModelSpec, usage: &Usage, cache: PromptCache) -> Option<f64> {
    let (input, output) = (spec.input_price?, spec.output_price?);
    let [ratio_5m, ratio_1h, ratio_read] = CACHE_RATIOS;
    let write_5m = spec.cache_write_5m_price.unwrap_or(input * ratio_5m);
    let write_1h = spec.cache_write_1h_price.unwrap_or(input * ratio_1h);
    let read = spec.cache_read_price.unwrap_or(input * ratio_read);
    let written = usage.cache_creation_input_tokens.unwrap_or(0) as f64;
    let writes = match usage.cache_creation {
        Some(split) => {
            split.ephemeral_5m_input_tokens as f64 * write_5m
                + split.ephemeral_1h_input_tokens as f64 * write_1h
        }
        None if cache == PromptCache::OneHour => written * write_1h,
        None => written * write_5m,
    };
    Some(
        (usage.input_tokens as f64 * input
            + writes
            + usage.cache_read_input_tokens.unwrap_or(0) as f64 * read
            + usage.output_tokens as f64 * output)
            / 1_000_000.0,
    )
}

/// The sum over `turns` (model id and usage of each reply), each priced by `spec` of its own
/// model; `None` when no turn could be priced.
pub fn estimated_cost<'s, 't>(
    turns: impl IntoIterator<Item = (&'t str, Usage)>,
    spec: impl Fn(&str) -> Option<&'s ModelSpec>,
    cache: PromptCache,
) -> Option<f64> {
    let mut priced = turns
        .into_iter()
        .filter_map(|(model, usage)| turn_cost(spec(model)?, &usage, cache))
        .peekable();
    priced.peek()?;
    Some(priced.fold(0.0, |total, cost| total + cost))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, input: Option<f64>, output: Option<f64>) -> ModelSpec {
        ModelSpec {
            id: id.into(),
            context_window: 200_000,
            input_price: input,
            output_price: output,
            cache_write_5m_price: None,
            cache_write_1h_price: None,
            cache_read_price: None,
            builtin: false,
            capabilities: Default::default(),
            pins: Default::default(),
        }
    }

    #[test]
    fn cache_counters_are_priced_from_the_input_price() {
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            cache_creation_input_tokens: Some(1_000_000),
            cache_read_input_tokens: Some(1_000_000),
            ..Default::default()
        };
        let m = spec("m", Some(2.0), Some(10.0));
        let cost = turn_cost(&m, &usage, PromptCache::FiveMinutes).unwrap();
        assert!((cost - (2.0 + 2.5 + 0.2 + 10.0)).abs() < 1e-9, "{cost}");
        // Unsplit writes at the configured lifetime's rate: 2x for an hour.
        let cost = turn_cost(&m, &usage, PromptCache::OneHour).unwrap();
        assert!((cost - (2.0 + 4.0 + 0.2 + 10.0)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn split_writes_and_listed_prices_win() {
        let usage = Usage {
            cache_creation_input_tokens: Some(3_000_000),
            cache_read_input_tokens: Some(1_000_000),
            cache_creation: Some(crate::api::types::CacheCreation {
                ephemeral_5m_input_tokens: 1_000_000,
                ephemeral_1h_input_tokens: 2_000_000,
            }),
            ..Default::default()
        };
        let m = spec("m", Some(2.0), Some(10.0));
        let cost = turn_cost(&m, &usage, PromptCache::FiveMinutes).unwrap();
        assert!((cost - (2.5 + 2.0 * 4.0 + 0.2)).abs() < 1e-9, "{cost}");
        let listed = ModelSpec {
            cache_write_5m_price: Some(1.0),
            cache_write_1h_price: Some(1.5),
            cache_read_price: Some(0.01),
            ..m
        };
        let cost = turn_cost(&listed, &usage, PromptCache::FiveMinutes).unwrap();
        assert!((cost - (1.0 + 3.0 + 0.01)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn unpriced_turns_do_not_count_and_none_priced_is_none() {
        let specs = [
            spec("priced", Some(1.0), Some(1.0)),
            spec("half", Some(1.0), None),
        ];
        let lookup = |id: &str| specs.iter().find(|s| s.id == id);
        let usage = Usage {
            output_tokens: 1_000_000,
            ..Usage::default()
        };
        let turns = [("priced", usage), ("half", usage), ("unknown", usage)];
        let c = PromptCache::default();
        assert_eq!(estimated_cost(turns, lookup, c), Some(1.0));
        assert_eq!(estimated_cost([("half", usage)], lookup, c), None);
        assert_eq!(estimated_cost([], lookup, c), None);
    }
}
