//! The models tern knows: the built-in list with its price estimates and capabilities, and what
//! the file adds (`extra_models`, `[models.ID]` windows, prices, capabilities) on top. Apart from
//! loading, since this is data the picker, pricing and the request rules read, and it changes
//! with every model release.
//!
//! Capabilities come from three layers: the built-in table (by model family, so `claude-opus-4.6`,
//! `claude-opus-4-6` and `anthropic/claude-opus-4-6-v1` are one model), then what `GET /v1/models`
//! says when the endpoint lists capabilities ([`ModelSpec::learn`]), then the file, which wins:
//! the user knows their gateway.

use std::collections::BTreeMap;

use super::file::FileModel;
use super::request::{Capabilities, Effort};
use crate::api::types::ModelInfo;

/// The families whose capabilities the Anthropic docs list ("Adaptive thinking", "Effort"):
/// adaptive thinking on the 4.6 models, effort on those and Opus 4.5 (without `max`).
const FAMILIES: [(&str, bool, &[Effort]); 3] = [
    ("claude-opus-4-6", true, &Effort::ALL),
    ("claude-sonnet-4-6", true, &Effort::ALL),
    (
        "claude-opus-4-5",
        false,
        &[Effort::Low, Effort::Medium, Effort::High],
    ),
];

/// The built-in capabilities of model `id` (dotted or dashed, with a provider prefix or a date
/// or version suffix); a model outside the table gets the default (a budget only).
pub fn builtin_capabilities(id: &str) -> Capabilities {
    let id = id.to_ascii_lowercase().replace('.', "-");
    for (family, adaptive, effort) in FAMILIES {
        let mut from = 0;
        while let Some(at) = id[from..].find(family) {
            let end = from + at + family.len();
            if !id[end..].starts_with(|c: char| c.is_ascii_digit()) {
                return Capabilities {
                    adaptive_thinking: adaptive,
                    budget_thinking: true,
                    effort: effort.to_vec(),
                };
            }
            from = end;
        }
    }
    Capabilities::default()
}

/// What the file says of a model's capabilities (each `None` where it says nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapabilityPins {
    pub adaptive_thinking: Option<bool>,
    pub budget_thinking: Option<bool>,
    pub effort: Option<Vec<Effort>>,
}

impl CapabilityPins {
    fn apply(&self, caps: &mut Capabilities) {
        if let Some(a) = self.adaptive_thinking {
            caps.adaptive_thinking = a;
        }
        if let Some(b) = self.budget_thinking {
            caps.budget_thinking = b;
        }
        if let Some(e) = &self.effort {
            caps.effort = e.clone();
        }
    }
}

/// The context window assumed for a model the file does not size.
const DEFAULT_CONTEXT_WINDOW: u64 = 200_000;

/// A model tern knows about: its context window and (estimated) prices in USD per million tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    pub context_window: u64,
    pub input_price: Option<f64>,
    pub output_price: Option<f64>,
    /// Prompt-cache prices, per million tokens: writes kept 5 minutes, writes kept an hour,
    /// reads. The table lists them; a file that sets only `input_price` gets the API's ratios
    /// of it ([`CACHE_RATIOS`]).
    pub cache_write_5m_price: Option<f64>,
    pub cache_write_1h_price: Option<f64>,
    pub cache_read_price: Option<f64>,
    pub builtin: bool,
    /// What the model takes (thinking kinds, effort levels), all layers applied.
    pub capabilities: Capabilities,
    /// The file's capability settings, re-applied over what the endpoint says.
    pub pins: CapabilityPins,
}

impl ModelSpec {
    fn new(id: &str, builtin: bool) -> ModelSpec {
        ModelSpec {
            id: id.to_owned(),
            context_window: DEFAULT_CONTEXT_WINDOW,
            input_price: None,
            output_price: None,
            cache_write_5m_price: None,
            cache_write_1h_price: None,
            cache_read_price: None,
            builtin,
            capabilities: builtin_capabilities(id),
            pins: CapabilityPins::default(),
        }
    }

    /// Take what `GET /v1/models` says of this model (when it lists capabilities); the
    /// file's settings still win.
    pub fn learn(&mut self, info: &ModelInfo) {
        let caps = &mut self.capabilities;
        if let Some(a) = info.adaptive_thinking() {
            caps.adaptive_thinking = a;
        }
        if let Some(b) = info.budget_thinking() {
            caps.budget_thinking = b;
        }
        if info.effort("low").is_some() {
            caps.effort = Effort::ALL
                .into_iter()
                .filter(|e| info.effort(e.as_str()) == Some(true))
                .collect();
        }
        self.pins.apply(&mut self.capabilities);
    }
}

/// Take what the Models API said of each model: a listed one learns it, one not yet known is
/// added (unpriced) with it.
pub fn learn_models(models: &mut Vec<ModelSpec>, infos: &[ModelInfo]) {
    for info in infos {
        if info.capabilities.is_none() {
            continue;
        }
        add_model(models, &info.id).learn(info);
    }
}

/// The capabilities of model `id` among `models` (the built-in table for one not listed).
pub fn capabilities_of(models: &[ModelSpec], id: &str) -> Capabilities {
    models
        .iter()
        .find(|m| m.id == id)
        .map_or_else(|| builtin_capabilities(id), |m| m.capabilities.clone())
}

/// The cache prices as multiples of the input price (Anthropic's "Prompt caching" pricing):
/// a write kept 5 minutes, one kept an hour, a read.
pub const CACHE_RATIOS: [f64; 3] = [1.25, 2.0, 0.1];

/// APIFree's six models, with list-price estimates: input, output, then the cache's 5-minute
/// write, 1-hour write and read.
pub fn builtin_models() -> Vec<ModelSpec> {
    [
        ("claude-sonnet-4", [3.0, 15.0, 3.75, 6.0, 0.3]),
        ("claude-opus-4.6", [5.0, 25.0, 6.25, 10.0, 0.5]),
        ("claude-sonnet-4.6", [3.0, 15.0, 3.75, 6.0, 0.3]),
        ("claude-opus-4.5", [5.0, 25.0, 6.25, 10.0, 0.5]),
        ("claude-sonnet-4.5", [3.0, 15.0, 3.75, 6.0, 0.3]),
        ("claude-haiku-4.5", [1.0, 5.0, 1.25, 2.0, 0.1]),
    ]
    .into_iter()
    .map(
        |(id, [input, output, write_5m, write_1h, read])| ModelSpec {
            input_price: Some(input),
            output_price: Some(output),
            cache_write_5m_price: Some(write_5m),
            cache_write_1h_price: Some(write_1h),
            cache_read_price: Some(read),
            ..ModelSpec::new(id, true)
        },
    )
    .collect()
}

/// The built-in models, then the file's `extra` ids, then its `[models.ID]` tables (each adds
/// its id if new, and sets what it gives of the window and prices).
pub(super) fn with_file_models(
    extra: Option<&[String]>,
    specs: Option<&BTreeMap<String, FileModel>>,
) -> Vec<ModelSpec> {
    let mut models = builtin_models();
    for id in extra.into_iter().flatten() {
        add_model(&mut models, id);
    }
    for (id, spec) in specs.into_iter().flatten() {
        let model = add_model(&mut models, id);
        if let Some(w) = spec.context_window {
            model.context_window = w;
        }
        if let Some(input) = spec.input_price {
            model.input_price = Some(input);
            let [write_5m, write_1h, read] = CACHE_RATIOS.map(|r| Some(input * r));
            model.cache_write_5m_price = write_5m;
            model.cache_write_1h_price = write_1h;
            model.cache_read_price = read;
        }
        for (price, given) in [
            (&mut model.cache_write_5m_price, spec.cache_write_5m_price),
            (&mut model.cache_write_1h_price, spec.cache_write_1h_price),
            (&mut model.cache_read_price, spec.cache_read_price),
        ] {
            if given.is_some() {
                *price = given;
            }
        }
        if spec.output_price.is_some() {
            model.output_price = spec.output_price;
        }
        model.pins = CapabilityPins {
            adaptive_thinking: spec.adaptive_thinking,
            budget_thinking: spec.budget_thinking,
            effort: spec.effort_levels.clone(),
        };
        let pins = model.pins.clone();
        pins.apply(&mut model.capabilities);
    }
    models
}

/// The model `id` in `models`, added (unpriced, default window) if it is not there.
fn add_model<'a>(models: &'a mut Vec<ModelSpec>, id: &str) -> &'a mut ModelSpec {
    let index = match models.iter().position(|m| m.id == id) {
        Some(i) => i,
        None => {
            models.push(ModelSpec::new(id, false));
            models.len() - 1
        }
    };
    &mut models[index]
}
