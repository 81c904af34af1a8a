//! Estimated cost of a conversation, from the per-model prices in the configuration.
//!
//! Prices are USD per million tokens (`ModelSpec::input_price`, `output_price`). The figures are
//! estimates shown beside a reply, never a bill, so a turn whose model has no price simply
//! does not count. Kept out of the view so that anything that sums a conversation (the status
//! bar today, `tern stats` later) prices it the same way.

use crate::api::Usage;
use crate::config::ModelSpec;

/// Writing the prompt cache costs a quarter more than plain input; reading it, a tenth.
const CACHE_WRITE: f64 = 1.25;
const CACHE_READ: f64 = 0.1;

/// One turn's cost, when its model has both prices.
pub fn turn_cost(spec: &ModelSpec, usage: &Usage) -> Option<f64> {
    let (input, output) = (spec.input_price?, spec.output_price?);
    Some(
        (usage.input_tokens as f64 * input
            + usage.cache_creation_input_tokens.unwrap_or(0) as f64 * input * CACHE_WRITE
            + usage.cache_read_input_tokens.unwrap_or(0) as f64 * input * CACHE_READ
            + usage.output_tokens as f64 * output)
            / 1_000_000.0,
    )
}

/// The sum over `turns` (model id and usage of each reply), each priced by `spec` of its own
/// model; `None` when no turn could be priced.
pub fn estimated_cost<'s, 't>(
    turns: impl IntoIterator<Item = (&'t str, Usage)>,
    spec: impl Fn(&str) -> Option<&'s ModelSpec>,
) -> Option<f64> {
    let mut priced = turns
        .into_iter()
        .filter_map(|(model, usage)| turn_cost(spec(model)?, &usage))
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
        let cost = turn_cost(&spec("m", Some(2.0), Some(10.0)), &usage).unwrap();
        assert!((cost - (2.0 + 2.5 + 0.2 + 10.0)).abs() < 1e-9, "{cost}");
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
        assert_eq!(estimated_cost(turns, lookup), Some(1.0));
        assert_eq!(estimated_cost([("half", usage)], lookup), None);
        assert_eq!(estimated_cost([], lookup), None);
    }
}
