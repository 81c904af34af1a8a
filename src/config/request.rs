//! The request settings beyond the sampling numbers (thinking, effort) and the one place the
//! API's rules for them apply, so the app and `tern -p` send the same request for the same wish.
//!
//! [`apply_rules`] is pure: it takes the request with what the user asked for and the model's
//! [`Capabilities`], and returns the notes the user should hear (a notice in the app, stderr
//! with `-p`) for each thing it changed. It never lets through a request the API rejects for a
//! reason tern can see: thinking takes no `temperature` or `top_k` and a `top_p` only from 0.95
//! to 1, its budget is at least 1024 and below `max_tokens`; `adaptive` and `effort` go only to
//! models that take them (the Anthropic docs' "Extended thinking" feature-compatibility list
//! and the "Adaptive thinking" and "Effort" pages).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::api::MessagesRequest;
use crate::api::types::{OutputConfig, ThinkingParam};

/// The smallest thinking budget the API takes.
pub const MIN_THINKING_BUDGET: u32 = 1024;

/// `top_p` the API allows with thinking on.
pub const THINKING_TOP_P: std::ops::RangeInclusive<f64> = 0.95..=1.0;

/// Thinking as the user sets it: `"off"`, `"adaptive"`, or a budget of N tokens. Written the
/// same way in `config.toml`, on the command line, after `/think`, and in the store (JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Thinking {
    #[default]
    Off,
    Adaptive,
    Budget(u32),
}

impl Thinking {
    pub fn is_on(self) -> bool {
        self != Thinking::Off
    }

    /// As shown in the header: `think 4k`, `think adaptive` (nothing when off).
    pub fn label(self) -> Option<String> {
        match self {
            Thinking::Off => None,
            Thinking::Adaptive => Some("think adaptive".to_owned()),
            Thinking::Budget(n) if n % 1024 == 0 => Some(format!("think {}k", n / 1024)),
            Thinking::Budget(n) if n >= 1000 && n % 1000 == 0 => {
                Some(format!("think {}k", n / 1000))
            }
            Thinking::Budget(n) => Some(format!("think {n}")),
        }
    }

    /// Whether a budget is in the API's range for `max_tokens`; the reason if not.
    pub fn check(self, max_tokens: u32) -> Result<(), String> {
        match self {
            Thinking::Budget(n) if n < MIN_THINKING_BUDGET => Err(format!(
                "a thinking budget is at least {MIN_THINKING_BUDGET} tokens (got {n})"
            )),
            Thinking::Budget(n) if n >= max_tokens => Err(format!(
                "the thinking budget ({n}) must be less than max_tokens ({max_tokens}); \
                 raise max_tokens or lower the budget"
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Thinking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Thinking::Off => f.write_str("off"),
            Thinking::Adaptive => f.write_str("adaptive"),
            Thinking::Budget(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for Thinking {
    type Err = String;
    fn from_str(text: &str) -> Result<Thinking, String> {
        match text.trim() {
            "off" => Ok(Thinking::Off),
            "adaptive" => Ok(Thinking::Adaptive),
            n => match n.parse::<u32>() {
                Ok(n) if n >= MIN_THINKING_BUDGET => Ok(Thinking::Budget(n)),
                _ => Err(format!(
                    "expected off, adaptive, or a budget of at least {MIN_THINKING_BUDGET} tokens"
                )),
            },
        }
    }
}

/// `"off"`, `"adaptive"` or a number, in TOML and JSON alike.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum ThinkingRepr {
    Budget(u32),
    Word(String),
}

impl Serialize for Thinking {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Thinking::Budget(n) => ThinkingRepr::Budget(*n),
            other => ThinkingRepr::Word(other.to_string()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Thinking {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Thinking, D::Error> {
        match ThinkingRepr::deserialize(d)? {
            // The range is checked with max_tokens, where the message can name both.
            ThinkingRepr::Budget(n) => Ok(Thinking::Budget(n)),
            ThinkingRepr::Word(w) => match w.as_str() {
                "off" => Ok(Thinking::Off),
                "adaptive" => Ok(Thinking::Adaptive),
                _ => Err(serde::de::Error::custom(
                    "expected \"off\", \"adaptive\" or a number of budget tokens",
                )),
            },
        }
    }
}

/// `output_config.effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    Low,
    Medium,
    High,
    Max,
}

impl Effort {
    pub const ALL: [Effort; 4] = [Effort::Low, Effort::Medium, Effort::High, Effort::Max];

    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Max => "max",
        }
    }
}

impl FromStr for Effort {
    type Err = String;
    fn from_str(text: &str) -> Result<Effort, String> {
        Effort::ALL
            .into_iter()
            .find(|e| e.as_str() == text.trim())
            .ok_or_else(|| "expected low, medium, high or max".to_owned())
    }
}

/// `service_tier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    Auto,
    StandardOnly,
}

impl ServiceTier {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Auto => "auto",
            ServiceTier::StandardOnly => "standard_only",
        }
    }
}

/// `prompt_cache`: how long the cache breakpoints tern places keep a prefix, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum PromptCache {
    #[default]
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "1h")]
    OneHour,
    #[serde(rename = "off")]
    Off,
}

impl PromptCache {
    /// The `ttl` of `cache_control`, `None` when caching is off.
    pub fn ttl(self) -> Option<&'static str> {
        match self {
            PromptCache::FiveMinutes => Some("5m"),
            PromptCache::OneHour => Some("1h"),
            PromptCache::Off => None,
        }
    }
}

/// What a model takes, of what the rules ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// `thinking: {"type":"adaptive"}`.
    pub adaptive_thinking: bool,
    /// `thinking: {"type":"enabled","budget_tokens":N}`.
    pub budget_thinking: bool,
    /// The `effort` levels it takes (none: no `output_config.effort` at all).
    pub effort: Vec<Effort>,
}

impl Default for Capabilities {
    /// A model tern knows nothing of: a budget only (what every thinking model has taken).
    fn default() -> Self {
        Capabilities {
            adaptive_thinking: false,
            budget_thinking: true,
            effort: Vec::new(),
        }
    }
}

/// The budget sent instead of `adaptive` to a model without it: half of `max_tokens`, at least
/// the minimum, below `max_tokens`; `None` when `max_tokens` leaves no room for one.
pub fn fallback_budget(max_tokens: u32) -> Option<u32> {
    let budget = (max_tokens / 2).max(MIN_THINKING_BUDGET);
    (budget < max_tokens).then_some(budget)
}

/// Set `thinking` and `output_config` on `request` (whose sampling fields and `max_tokens`
/// hold what the user asked for) by the model's capabilities and the API's rules; the notes
/// say what was changed and why.
pub fn apply_rules(
    request: &mut MessagesRequest,
    thinking: Thinking,
    effort: Option<Effort>,
    caps: &Capabilities,
) -> Vec<String> {
    let mut notes = Vec::new();
    let model = request.model.clone();
    let thinking = match thinking {
        Thinking::Adaptive if !caps.adaptive_thinking => {
            match (caps.budget_thinking, fallback_budget(request.max_tokens)) {
                (true, Some(budget)) => {
                    notes.push(format!(
                        "{model} has no adaptive thinking; thinking with a budget of {budget} \
                         tokens instead"
                    ));
                    Thinking::Budget(budget)
                }
                _ => {
                    notes.push(format!(
                        "{model} has no adaptive thinking and max_tokens ({}) leaves no room \
                         for a budget; sent without thinking",
                        request.max_tokens
                    ));
                    Thinking::Off
                }
            }
        }
        Thinking::Budget(n) if !caps.budget_thinking && caps.adaptive_thinking => {
            notes.push(format!(
                "{model} takes no thinking budget; thinking adaptively instead of {n} tokens"
            ));
            Thinking::Adaptive
        }
        other => other,
    };
    if let Thinking::Budget(n) = thinking
        && n >= request.max_tokens
    {
        let raised = n.saturating_add(MIN_THINKING_BUDGET);
        notes.push(format!(
            "max_tokens raised from {} to {raised}: it must exceed the thinking budget ({n})",
            request.max_tokens
        ));
        request.max_tokens = raised;
    }
    request.thinking = match thinking {
        Thinking::Off => None,
        Thinking::Adaptive => Some(ThinkingParam::Adaptive),
        Thinking::Budget(n) => Some(ThinkingParam::Enabled {
            budget_tokens: n.max(MIN_THINKING_BUDGET),
        }),
    };
    if thinking.is_on() {
        // Thinking forbids forced tool use: the model chooses instead.
        let forced = request
            .tool_choice
            .as_ref()
            .and_then(|c| c.get("type"))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|kind| kind == "any" || kind == "tool");
        if let Some(choice) = request.tool_choice.as_mut().filter(|_| forced) {
            choice["type"] = serde_json::Value::from("auto");
            if let Some(object) = choice.as_object_mut() {
                object.remove("name");
            }
            notes.push(
                "tool_choice sent as auto: thinking does not allow forcing a tool call".to_owned(),
            );
        }
        if let Some(t) = request.temperature.take() {
            notes.push(format!("temperature {t} is not sent: thinking takes none"));
        }
        if let Some(k) = request.top_k.take() {
            notes.push(format!("top_k {k} is not sent: thinking takes none"));
        }
        if let Some(p) = request.top_p
            && !THINKING_TOP_P.contains(&p)
        {
            request.top_p = None;
            notes.push(format!(
                "top_p {p} is not sent: with thinking it must be from 0.95 to 1"
            ));
        }
    }
    request.output_config = match effort {
        Some(level) if caps.effort.contains(&level) => Some(OutputConfig {
            effort: Some(level.as_str().to_owned()),
        }),
        Some(level) => {
            notes.push(if caps.effort.is_empty() {
                format!(
                    "{model} takes no effort setting; effort {} is not sent",
                    level.as_str()
                )
            } else {
                format!("{model} has no effort {}; not sent", level.as_str())
            });
            None
        }
        None => None,
    };
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(max_tokens: u32) -> MessagesRequest {
        MessagesRequest {
            model: "m".into(),
            max_tokens,
            ..Default::default()
        }
    }

    fn caps(adaptive: bool, effort: &[Effort]) -> Capabilities {
        Capabilities {
            adaptive_thinking: adaptive,
            budget_thinking: true,
            effort: effort.to_vec(),
        }
    }

    #[test]
    fn thinking_parses_and_prints_one_way() {
        for (text, value) in [
            ("off", Thinking::Off),
            ("adaptive", Thinking::Adaptive),
            ("4096", Thinking::Budget(4096)),
        ] {
            assert_eq!(text.parse::<Thinking>(), Ok(value));
            assert_eq!(value.to_string(), text);
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<Thinking>(&json).unwrap(), value);
        }
        assert_eq!(
            serde_json::to_string(&Thinking::Budget(2048)).unwrap(),
            "2048"
        );
        assert!("1023".parse::<Thinking>().is_err());
        assert!("on".parse::<Thinking>().is_err());
        assert_eq!(Thinking::Budget(4096).label().unwrap(), "think 4k");
        assert_eq!(Thinking::Budget(5000).label().unwrap(), "think 5k");
        assert_eq!(Thinking::Budget(1500).label().unwrap(), "think 1500");
        assert_eq!(Thinking::Adaptive.label().unwrap(), "think adaptive");
    }

    #[test]
    fn budget_checks_name_both_numbers() {
        assert!(Thinking::Budget(2048).check(4096).is_ok());
        let err = Thinking::Budget(4096).check(4096).unwrap_err();
        assert!(err.contains("4096") && err.contains("max_tokens"), "{err}");
        assert!(Thinking::Budget(512).check(4096).is_err());
    }

    #[test]
    fn adaptive_goes_only_where_taken() {
        let mut r = request(8000);
        let notes = apply_rules(&mut r, Thinking::Adaptive, None, &caps(true, &[]));
        assert_eq!(r.thinking, Some(ThinkingParam::Adaptive));
        assert!(notes.is_empty());
        let mut r = request(8000);
        let notes = apply_rules(&mut r, Thinking::Adaptive, None, &caps(false, &[]));
        assert_eq!(
            r.thinking,
            Some(ThinkingParam::Enabled {
                budget_tokens: 4000
            })
        );
        assert!(notes[0].contains("no adaptive thinking"), "{notes:?}");
        let mut r = request(1024);
        apply_rules(&mut r, Thinking::Adaptive, None, &caps(false, &[]));
        assert_eq!(r.thinking, None);
        let mut r = request(1500);
        apply_rules(&mut r, Thinking::Adaptive, None, &caps(false, &[]));
        assert_eq!(
            r.thinking,
            Some(ThinkingParam::Enabled {
                budget_tokens: 1024
            })
        );
    }

    #[test]
    fn sampling_with_thinking_follows_the_api() {
        let mut r = request(8000);
        r.temperature = Some(0.5);
        r.top_k = Some(40);
        r.top_p = Some(0.9);
        let notes = apply_rules(&mut r, Thinking::Budget(2048), None, &caps(false, &[]));
        assert_eq!((r.temperature, r.top_k, r.top_p), (None, None, None));
        assert_eq!(notes.len(), 3, "{notes:?}");
        let mut r = request(8000);
        r.top_p = Some(0.97);
        r.temperature = Some(0.5);
        r.top_k = Some(40);
        let notes = apply_rules(&mut r, Thinking::Off, None, &caps(false, &[]));
        assert!(notes.is_empty());
        assert_eq!((r.temperature, r.top_k), (Some(0.5), Some(40)));
        apply_rules(&mut r, Thinking::Budget(2048), None, &caps(false, &[]));
        assert_eq!(r.top_p, Some(0.97));
    }

    #[test]
    fn max_tokens_is_raised_above_the_budget() {
        let mut r = request(4096);
        let notes = apply_rules(&mut r, Thinking::Budget(8192), None, &caps(false, &[]));
        assert_eq!(r.max_tokens, 8192 + 1024);
        assert!(notes[0].contains("max_tokens raised"), "{notes:?}");
    }

    #[test]
    fn effort_goes_only_where_taken() {
        let all = Effort::ALL;
        let mut r = request(4096);
        let notes = apply_rules(&mut r, Thinking::Off, Some(Effort::Max), &caps(true, &all));
        assert_eq!(r.output_config.unwrap().effort.as_deref(), Some("max"));
        assert!(notes.is_empty());
        let mut r = request(4096);
        let notes = apply_rules(&mut r, Thinking::Off, Some(Effort::Low), &caps(false, &[]));
        assert_eq!(r.output_config, None);
        assert!(notes[0].contains("takes no effort"), "{notes:?}");
        let three = [Effort::Low, Effort::Medium, Effort::High];
        let mut r = request(4096);
        let notes = apply_rules(
            &mut r,
            Thinking::Off,
            Some(Effort::Max),
            &caps(false, &three),
        );
        assert_eq!(r.output_config, None);
        assert!(notes[0].contains("no effort max"), "{notes:?}");
    }
}
