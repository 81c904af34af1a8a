//! The app palette: one [`Theme`] value holds every colour the UI and the renderer use.
//!
//! Why it is shaped this way:
//! - **Semantic slots, not colours.** Widgets ask for `theme.user_label` or `theme.code_bg`, never
//!   for "blue", so a theme file can restyle everything without touching code. The slot list is
//!   written once (the `slots!` macro below) and generates the struct fields, the TOML parser,
//!   the content hash and [`Theme::slot_names`], so the four can never drift apart.
//! - **TOML files, compiled in and overridable.** `themes/dark.toml` and `themes/light.toml` are
//!   embedded with `include_str!`; a user theme dir may hold more (or replace a built-in by
//!   name). A user theme may `extends = "light"` and override a few slots; without `extends` it
//!   starts from `dark`, so a partial file is always a complete theme.
//! - **Errors name the file, the line and the field**, because a broken theme should be fixed in
//!   seconds, not guessed at.
//! - **A content hash as the id.** Rendered lines are cached per (message, width, theme); the
//!   [`Theme::id`] is an FNV-1a hash of the resolved palette (not of the file text), so two
//!   files that resolve to the same palette share cache entries, and the id is stable across
//!   runs and Rust versions.
//! - **No syntect here.** The code theme is stored by name; `highlight` resolves it lazily, so
//!   loading a theme at startup never loads syntect.
//!
//! Files: this one holds the slot list and the [`Theme`] API; `load.rs` finds and reads theme
//! files (`extends` included); `style.rs` parses and hashes slot values.

mod load;
mod style;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ratatui::style::{Color, Style};

use load::{builtin_path, load_source, resolve, valid_name};
use style::{Fnv, hash_color, hash_style, parse_color_value, parse_style};

/// Built-in theme sources, compiled into the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
];

/// The syntect themes that ship inside syntect's default dump (validated without loading it).
pub const SYNTAX_THEMES: &[&str] = &[
    "base16-ocean.dark",
    "base16-eighties.dark",
    "base16-mocha.dark",
    "base16-ocean.light",
    "InspiredGitHub",
    "Solarized (dark)",
    "Solarized (light)",
];

/// Keys of a theme file that are not palette slots.
const META_KEYS: &[&str] = &["name", "extends", "syntax_theme"];

/// How deep `extends` chains may go before we call it a cycle.
const MAX_EXTENDS_DEPTH: usize = 8;

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// No user file and no built-in theme has this name.
    #[error("theme `{name}` not found (available: {available})")]
    NotFound { name: String, available: String },
    /// The name cannot be a file name (path separators, empty, …).
    #[error("invalid theme name `{0}`: use letters, digits, `-`, `_` or `.`")]
    InvalidName(String),
    /// The theme file could not be read.
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML (the message carries line and column).
    #[error("{}: {message}", file.display())]
    Syntax { file: PathBuf, message: String },
    /// A field has a bad value or is unknown.
    #[error("{}:{line}: field `{field}`: {message}", file.display())]
    Field {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
    /// `extends` chains loop or are too deep.
    #[error("{}: `extends` chain too deep or cyclic at `{name}`", file.display())]
    ExtendsCycle { file: PathBuf, name: String },
}

macro_rules! slot_ty {
    (style) => {
        Style
    };
    (color) => {
        Color
    };
}

macro_rules! slots {
    ($( $(#[$doc:meta])* $field:ident : $kind:ident ),* $(,)?) => {
        /// An app palette. Fields are public so widgets read them directly; if you change a
        /// field by hand, call [`Theme::refresh_id`] so caches keyed by [`Theme::id`] notice.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Theme {
            /// Theme name (file stem or `name =` in the file).
            pub name: String,
            /// Name of the syntect theme used for code blocks (one of [`SYNTAX_THEMES`]).
            pub syntax_theme: String,
            $( $(#[$doc])* pub $field: slot_ty!($kind), )*
            id: u64,
        }

        const SLOT_NAMES: &[&str] = &[ $( stringify!($field) ),* ];

        impl Theme {
            /// A theme with every slot at its default (terminal colours, no modifiers).
            fn blank(name: &str) -> Theme {
                let mut t = Theme {
                    name: name.to_string(),
                    syntax_theme: SYNTAX_THEMES[0].to_string(),
                    $( $field: Default::default(), )*
                    id: 0,
                };
                t.refresh_id();
                t
            }

            /// Sets slot `key` from a TOML value. `Ok(false)`: no such slot.
            fn apply_slot(&mut self, key: &str, value: &toml::Value) -> Result<bool, String> {
                match key {
                    $( stringify!($field) => { self.$field = slots!(@parse $kind, value)?; } )*
                    _ => return Ok(false),
                }
                Ok(true)
            }

            fn hash_slots(&self, h: &mut Fnv) {
                $( h.write(stringify!($field).as_bytes()); slots!(@hash $kind, h, self.$field); )*
            }
        }
    };
    (@parse style, $v:expr) => { parse_style($v) };
    (@parse color, $v:expr) => { parse_color_value($v) };
    (@hash style, $h:expr, $s:expr) => { hash_style($h, $s) };
    (@hash color, $h:expr, $c:expr) => { hash_color($h, $c) };
}

slots! {
    /// Body text.
    text: style,
    /// Secondary text: timestamps, hints, link URLs.
    dim: style,
    /// Highlights and the focused item.
    accent: style,
    /// App background (`reset` keeps the terminal's).
    background: color,
    /// Pane borders.
    border: style,
    /// The focused pane's border.
    border_focused: style,
    /// "You" label on user messages.
    user_label: style,
    /// Assistant label on replies.
    assistant_label: style,
    /// The model id shown next to a reply.
    model_label: style,
    /// Error text.
    error: style,
    /// Warnings (retries, truncated replies).
    warning: style,
    /// Success notes.
    success: style,
    /// Background of code blocks (syntect backgrounds are dropped in favour of this).
    code_bg: color,
    /// Code text when the language is unknown.
    code: style,
    /// Code block header (language and number).
    code_header: style,
    /// `inline code`.
    inline_code: style,
    /// Link text.
    link: style,
    /// Link URL shown after the text.
    link_url: style,
    /// Headings (level 1 and 2 add underline / bold on top).
    heading: style,
    /// Block quote text and bar.
    quote: style,
    /// List bullets and numbers.
    list_marker: style,
    /// Horizontal rules and table rules.
    rule: style,
    /// Table header cells.
    table_header: style,
    /// Selected text / list rows.
    selection: style,
    /// Status bar background.
    status_bg: color,
    /// Status bar text.
    status_fg: color,
    /// The active tab.
    tab_active: style,
    /// Inactive tabs.
    tab_inactive: style,
    /// A tab whose conversation is streaming.
    tab_busy: style,
    /// Search matches.
    search_match: style,
    /// Scrollbar thumb.
    scrollbar: style,
    /// Spinner / progress glyphs.
    spinner: style,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin("dark").unwrap_or_else(|| Theme::blank("dark"))
    }
}

impl Theme {
    /// Content hash of the resolved palette; use it in cache keys.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Recomputes [`Theme::id`] after fields were changed by hand.
    pub fn refresh_id(&mut self) {
        let mut h = Fnv::new();
        h.write(self.syntax_theme.as_bytes());
        self.hash_slots(&mut h);
        self.id = h.finish();
    }

    /// Names of the built-in themes.
    pub fn names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// Names of every palette slot a theme file may set.
    pub fn slot_names() -> &'static [&'static str] {
        SLOT_NAMES
    }

    /// Built-in theme names plus the `*.toml` stems found in `user_dir`, sorted, deduplicated.
    pub fn available(user_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                    && valid_name(stem)
                {
                    names.push(stem.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// A built-in theme by name (`dark`, `light`).
    pub fn builtin(name: &str) -> Option<Theme> {
        // Parsed once; built-ins are checked by tests, so a parse failure would be a build
        // defect, and it degrades to "not found" rather than a panic.
        static PARSED: LazyLock<Vec<Option<Theme>>> = LazyLock::new(|| {
            BUILTIN
                .iter()
                .map(|(n, src)| load_source(n, src, &builtin_path(n), None, 0, true).ok())
                .collect()
        });
        let idx = BUILTIN.iter().position(|(n, _)| *n == name)?;
        PARSED.get(idx)?.clone()
    }

    /// Loads theme `name`: `user_dir/NAME.toml` if it exists, else the built-in one.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        resolve(name, user_dir, 0)
    }

    /// Parses a theme from TOML text. `label` names the source in errors; `user_dir` is where
    /// `extends` looks for user themes. Without `extends` the base is the built-in `dark`.
    pub fn from_toml(
        src: &str,
        label: &Path,
        user_dir: Option<&Path>,
    ) -> Result<Theme, ThemeError> {
        let stem = label
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("custom");
        load_source(stem, src, label, user_dir, 0, false)
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
