//! The models tern knows: the built-in list with its price estimates, and what the file adds
//! (`extra_models`, `[models.ID]` windows and prices) on top. Apart from loading, since this is
//! data the picker and pricing read, and it changes with every model release.

use std::collections::BTreeMap;

use super::file::FileModel;

/// The context window assumed for a model the file does not size.
const DEFAULT_CONTEXT_WINDOW: u64 = 200_000;

/// A model tern knows about: its context window and (estimated) prices in USD per million tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    pub context_window: u64,
    pub input_price: Option<f64>,
    pub output_price: Option<f64>,
    pub builtin: bool,
}

/// APIFree's six models, with list-price estimates.
pub fn builtin_models() -> Vec<ModelSpec> {
    [
        ("claude-sonnet-4", 3.0, 15.0),
        ("claude-opus-4.6", 5.0, 25.0),
        ("claude-sonnet-4.6", 3.0, 15.0),
        ("claude-opus-4.5", 5.0, 25.0),
        ("claude-sonnet-4.5", 3.0, 15.0),
        ("claude-haiku-4.5", 1.0, 5.0),
    ]
    .into_iter()
    .map(|(id, input, output)| ModelSpec {
        id: id.to_owned(),
        context_window: DEFAULT_CONTEXT_WINDOW,
        input_price: Some(input),
        output_price: Some(output),
        builtin: true,
    })
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
        if spec.input_price.is_some() {
            model.input_price = spec.input_price;
        }
        if spec.output_price.is_some() {
            model.output_price = spec.output_price;
        }
    }
    models
}

/// The model `id` in `models`, added (unpriced, default window) if it is not there.
fn add_model<'a>(models: &'a mut Vec<ModelSpec>, id: &str) -> &'a mut ModelSpec {
    let index = match models.iter().position(|m| m.id == id) {
        Some(i) => i,
        None => {
            models.push(ModelSpec {
                id: id.to_owned(),
                context_window: DEFAULT_CONTEXT_WINDOW,
                input_price: None,
                output_price: None,
                builtin: false,
            });
            models.len() - 1
        }
    };
    &mut models[index]
}
