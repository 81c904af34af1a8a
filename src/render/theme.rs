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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::LazyLock;

use ratatui::style::{Color, Modifier, Style};

/// Built-in theme sources, compiled into the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
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

fn builtin_path(name: &str) -> PathBuf {
    PathBuf::from(format!("<builtin>/themes/{name}.toml"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn resolve(name: &str, user_dir: Option<&Path>, depth: usize) -> Result<Theme, ThemeError> {
    if !valid_name(name) {
        return Err(ThemeError::InvalidName(name.to_string()));
    }
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(src) => return load_source(name, &src, &path, user_dir, depth, false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ThemeError::Io { file: path, source }),
        }
    }
    match BUILTIN.iter().find(|(n, _)| *n == name) {
        Some((_, src)) => load_source(name, src, &builtin_path(name), None, depth, true),
        None => Err(ThemeError::NotFound {
            name: name.to_string(),
            available: Theme::available(user_dir).join(", "),
        }),
    }
}

fn load_source(
    default_name: &str,
    src: &str,
    file: &Path,
    user_dir: Option<&Path>,
    depth: usize,
    builtin: bool,
) -> Result<Theme, ThemeError> {
    let table: BTreeMap<String, toml::Spanned<toml::Value>> =
        toml::from_str(src).map_err(|e| ThemeError::Syntax {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
    let field_err =
        |key: &str, value: &toml::Spanned<toml::Value>, message: String| ThemeError::Field {
            file: file.to_path_buf(),
            line: line_of(src, value.span().start),
            field: key.to_string(),
            message,
        };
    let str_field = |key: &str| -> Result<Option<String>, ThemeError> {
        match table.get(key) {
            None => Ok(None),
            Some(v) => match v.get_ref() {
                toml::Value::String(s) => Ok(Some(s.clone())),
                other => Err(field_err(
                    key,
                    v,
                    format!("expected a string, found {}", other.type_str()),
                )),
            },
        }
    };

    let mut theme = match str_field("extends")? {
        Some(base) => {
            if depth + 1 >= MAX_EXTENDS_DEPTH {
                return Err(ThemeError::ExtendsCycle {
                    file: file.to_path_buf(),
                    name: base,
                });
            }
            // A user theme extending its own name means the built-in of that name.
            let base_dir = if base == default_name { None } else { user_dir };
            resolve(&base, base_dir, depth + 1).map_err(|e| match e {
                ThemeError::NotFound { .. } | ThemeError::InvalidName(_) => {
                    field_err("extends", &table["extends"], e.to_string())
                }
                other => other,
            })?
        }
        None if builtin => Theme::blank(default_name),
        None => Theme::builtin("dark").unwrap_or_else(|| Theme::blank("dark")),
    };
    theme.name = str_field("name")?.unwrap_or_else(|| default_name.to_string());
    if let Some(st) = str_field("syntax_theme")? {
        if !SYNTAX_THEMES.contains(&st.as_str()) {
            let v = &table["syntax_theme"];
            return Err(field_err(
                "syntax_theme",
                v,
                format!(
                    "unknown syntax theme `{st}` (known: {})",
                    SYNTAX_THEMES.join(", ")
                ),
            ));
        }
        theme.syntax_theme = st;
    }
    for (key, value) in &table {
        if META_KEYS.contains(&key.as_str()) {
            continue;
        }
        match theme.apply_slot(key, value.get_ref()) {
            Ok(true) => {}
            Ok(false) => {
                return Err(field_err(
                    key,
                    value,
                    format!("unknown field (known: {})", SLOT_NAMES.join(", ")),
                ));
            }
            Err(message) => return Err(field_err(key, value, message)),
        }
    }
    theme.refresh_id();
    Ok(theme)
}

fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn parse_color(s: &str) -> Result<Color, String> {
    Color::from_str(s.trim()).map_err(|_| {
        format!("`{s}` is not a colour (use \"#rrggbb\", a name like \"lightblue\", or 0-255)")
    })
}

fn parse_color_value(v: &toml::Value) -> Result<Color, String> {
    match v {
        toml::Value::String(s) => parse_color(s),
        other => Err(format!(
            "expected a colour string, found {}",
            other.type_str()
        )),
    }
}

/// A style is either a colour string (the foreground) or a table
/// `{ fg, bg, bold, italic, underline, dim, reversed, crossed_out }`.
fn parse_style(v: &toml::Value) -> Result<Style, String> {
    match v {
        toml::Value::String(s) => Ok(Style::default().fg(parse_color(s)?)),
        toml::Value::Table(t) => {
            let mut style = Style::default();
            for (k, v) in t {
                match k.as_str() {
                    "fg" => style = style.fg(parse_color_value(v).map_err(|e| format!("fg: {e}"))?),
                    "bg" => style = style.bg(parse_color_value(v).map_err(|e| format!("bg: {e}"))?),
                    m => {
                        let modifier = match m {
                            "bold" => Modifier::BOLD,
                            "italic" => Modifier::ITALIC,
                            "underline" | "underlined" => Modifier::UNDERLINED,
                            "dim" => Modifier::DIM,
                            "reversed" => Modifier::REVERSED,
                            "crossed_out" => Modifier::CROSSED_OUT,
                            _ => {
                                return Err(format!(
                                    "unknown style key `{m}` (use fg, bg, bold, italic, underline, dim, reversed, crossed_out)"
                                ));
                            }
                        };
                        match v {
                            toml::Value::Boolean(true) => style = style.add_modifier(modifier),
                            toml::Value::Boolean(false) => style = style.remove_modifier(modifier),
                            other => {
                                return Err(format!(
                                    "{m}: expected true or false, found {}",
                                    other.type_str()
                                ));
                            }
                        }
                    }
                }
            }
            Ok(style)
        }
        other => Err(format!(
            "expected a colour string or a style table, found {}",
            other.type_str()
        )),
    }
}

/// FNV-1a, 64 bit: tiny, deterministic across runs and toolchains.
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Field separator so ("ab","c") and ("a","bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

fn hash_color(h: &mut Fnv, c: Color) {
    let bytes: [u8; 4] = match c {
        Color::Reset => [0, 0, 0, 0],
        Color::Rgb(r, g, b) => [1, r, g, b],
        Color::Indexed(i) => [2, i, 0, 0],
        named => [3, named_index(named), 0, 0],
    };
    h.write(&bytes);
}

fn named_index(c: Color) -> u8 {
    match c {
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        _ => 255,
    }
}

fn hash_style(h: &mut Fnv, s: Style) {
    h.write(&[u8::from(s.fg.is_some()), u8::from(s.bg.is_some())]);
    hash_color(h, s.fg.unwrap_or(Color::Reset));
    hash_color(h, s.bg.unwrap_or(Color::Reset));
    h.write(&s.add_modifier.bits().to_le_bytes());
    h.write(&s.sub_modifier.bits().to_le_bytes());
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_define_every_slot() {
        for (name, src) in BUILTIN {
            let theme = Theme::builtin(name).expect(name);
            assert_eq!(&theme.name, name);
            let table: BTreeMap<String, toml::Value> = toml::from_str(src).unwrap();
            for slot in SLOT_NAMES {
                assert!(table.contains_key(*slot), "{name}.toml lacks `{slot}`");
            }
        }
        assert_eq!(Theme::names(), vec!["dark", "light"]);
    }

    #[test]
    fn ids_are_stable_and_content_based() {
        let a = Theme::builtin("dark").unwrap();
        let b = Theme::builtin("dark").unwrap();
        let l = Theme::builtin("light").unwrap();
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), l.id());
        let mut c = a.clone();
        c.text = c.text.fg(Color::Indexed(42));
        c.refresh_id();
        assert_ne!(a.id(), c.id());
    }

    #[test]
    fn user_theme_extends_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "extends = \"light\"\ntext = \"#010203\"\nheading = { fg = \"red\", bold = true }\n",
        )
        .unwrap();
        let t = Theme::load("mine", Some(dir.path())).unwrap();
        let light = Theme::builtin("light").unwrap();
        assert_eq!(t.name, "mine");
        assert_eq!(t.text.fg, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(t.heading.fg, Some(Color::Red));
        assert!(t.heading.add_modifier.contains(Modifier::BOLD));
        assert_eq!(t.code_bg, light.code_bg);
        assert_eq!(t.syntax_theme, light.syntax_theme);
        assert!(Theme::available(Some(dir.path())).contains(&"mine".to_string()));
    }

    #[test]
    fn user_file_may_replace_a_builtin_and_extend_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dark.toml"),
            "extends = \"dark\"\ndim = \"#000001\"\n",
        )
        .unwrap();
        let t = Theme::load("dark", Some(dir.path())).unwrap();
        assert_eq!(t.dim.fg, Some(Color::Rgb(0, 0, 1)));
        assert_eq!(t.text, Theme::builtin("dark").unwrap().text);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "text = \"#112233\"\n\nlink = \"notacolour\"\n").unwrap();
        let err = Theme::load("bad", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml:3"), "{err}");
        assert!(err.contains("`link`"), "{err}");
        assert!(err.contains("notacolour"), "{err}");

        std::fs::write(&path, "text = \"red\"\nbogus = \"red\"\n").unwrap();
        let err = Theme::load("bad", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.toml:2") && err.contains("`bogus`") && err.contains("unknown"),
            "{err}"
        );

        std::fs::write(&path, "text = { fg = \"red\", blink = true }\n").unwrap();
        let err = Theme::load("bad", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml:1") && err.contains("blink"), "{err}");

        std::fs::write(&path, "text = [\n").unwrap();
        let err = Theme::load("bad", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml") && err.contains("line"), "{err}");

        std::fs::write(&path, "syntax_theme = \"nope\"\n").unwrap();
        let err = Theme::load("bad", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("syntax_theme") && err.contains("nope"),
            "{err}"
        );
    }

    #[test]
    fn not_found_invalid_and_cycles() {
        let err = Theme::load("nope", None).unwrap_err();
        assert!(matches!(err, ThemeError::NotFound { .. }));
        assert!(err.to_string().contains("dark"));
        assert!(matches!(
            Theme::load("../etc/passwd", None),
            Err(ThemeError::InvalidName(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = \"b\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = \"a\"\n").unwrap();
        let err = Theme::load("a", Some(dir.path())).unwrap_err();
        assert!(matches!(err, ThemeError::ExtendsCycle { .. }), "{err}");
        std::fs::write(dir.path().join("c.toml"), "extends = \"zzz\"\n").unwrap();
        let err = Theme::load("c", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("c.toml:1") && err.contains("extends"), "{err}");
    }

    #[test]
    fn partial_theme_without_extends_starts_from_dark() {
        let t = Theme::from_toml("accent = \"yellow\"\n", Path::new("x.toml"), None).unwrap();
        let dark = Theme::builtin("dark").unwrap();
        assert_eq!(t.accent.fg, Some(Color::Yellow));
        assert_eq!(t.text, dark.text);
        assert_eq!(t.name, "x");
    }
}
