//! The popups over the conversation: which one is open and its own state. Their keys are in
//! `update/overlay.rs` (the browser's in `update/browser.rs`); their drawing in `ui/`.

pub use crate::store::BrowserRow;
use crate::store::StoredMessage;

use super::action::Effect;

/// A filterable list popup (the model picker and the code-block chooser share it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PickerState {
    pub filter: String,
    pub selected: usize,
}

/// A code block offered for copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChoice {
    pub label: String,
    pub code: String,
}

/// The popup on top of the conversation, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help {
        scroll: u16,
    },
    ModelPicker(PickerState),
    CodePicker {
        picker: PickerState,
        blocks: Vec<CodeChoice>,
    },
    Browser(Box<BrowserState>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BrowserMode {
    #[default]
    List,
    Rename(String),
    ConfirmDelete,
}

/// The saved-conversation browser (Ctrl+R).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BrowserState {
    pub query: String,
    /// Bumped on every query change; results carry it back.
    pub generation: u64,
    pub rows: Vec<BrowserRow>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
    pub mode: BrowserMode,
    pub preview: Option<(String, Vec<StoredMessage>)>,
}

impl BrowserState {
    /// The query changed: ask again, tagging the answer with a new generation.
    pub fn requery(&mut self) -> Effect {
        self.generation += 1;
        self.loading = true;
        self.selected = 0;
        Effect::BrowserQuery {
            generation: self.generation,
            query: self.query.clone(),
        }
    }

    pub fn selected_row(&self) -> Option<&BrowserRow> {
        self.rows.get(self.selected)
    }
}
