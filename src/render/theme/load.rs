//! Finding and reading theme files: user directory first, then the built-ins; `extends`.
//!
//! A file is read in a fixed order (its base through `extends`, then `name`, `syntax_theme`,
//! then every slot) so the first error reported is the same on every run. Every error about a
//! field carries the file and the line of its value, found from the TOML span, because a broken
//! theme should be fixed in seconds, not guessed at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{BUILTIN, MAX_EXTENDS_DEPTH, META_KEYS, SLOT_NAMES, SYNTAX_THEMES, Theme, ThemeError};

pub(super) fn builtin_path(name: &str) -> PathBuf {
    PathBuf::from(format!("<builtin>/themes/{name}.toml"))
}

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn resolve(
    name: &str,
    user_dir: Option<&Path>,
    depth: usize,
) -> Result<Theme, ThemeError> {
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

pub(super) fn load_source(
    default_name: &str,
    src: &str,
    file: &Path,
    user_dir: Option<&Path>,
    depth: usize,
    builtin: bool,
) -> Result<Theme, ThemeError> {
    let doc = ThemeFile::parse(src, file)?;
    let mut theme = doc.base(default_name, user_dir, depth, builtin)?;
    theme.name = doc
        .str_field("name")?
        .unwrap_or_else(|| default_name.to_string());
    if let Some(st) = doc.str_field("syntax_theme")? {
        if !SYNTAX_THEMES.contains(&st.as_str()) {
            let v = &doc.table["syntax_theme"];
            return Err(doc.field_err(
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
    doc.apply_slots(&mut theme)?;
    theme.refresh_id();
    Ok(theme)
}

/// A parsed theme file, kept with its text so that errors can name the line.
struct ThemeFile<'s> {
    src: &'s str,
    file: &'s Path,
    table: BTreeMap<String, toml::Spanned<toml::Value>>,
}

impl<'s> ThemeFile<'s> {
    fn parse(src: &'s str, file: &'s Path) -> Result<Self, ThemeError> {
        let table = toml::from_str(src).map_err(|e| ThemeError::Syntax {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Ok(ThemeFile { src, file, table })
    }

    fn field_err(
        &self,
        key: &str,
        value: &toml::Spanned<toml::Value>,
        message: String,
    ) -> ThemeError {
        ThemeError::Field {
            file: self.file.to_path_buf(),
            line: line_of(self.src, value.span().start),
            field: key.to_string(),
            message,
        }
    }

    fn str_field(&self, key: &str) -> Result<Option<String>, ThemeError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(v) => match v.get_ref() {
                toml::Value::String(s) => Ok(Some(s.clone())),
                other => Err(self.field_err(
                    key,
                    v,
                    format!("expected a string, found {}", other.type_str()),
                )),
            },
        }
    }

    /// The theme this file starts from: what it `extends`, else a blank theme for a built-in
    /// and `dark` for a user file (so a partial file is still a complete theme).
    fn base(
        &self,
        default_name: &str,
        user_dir: Option<&Path>,
        depth: usize,
        builtin: bool,
    ) -> Result<Theme, ThemeError> {
        let Some(base) = self.str_field("extends")? else {
            return Ok(if builtin {
                Theme::blank(default_name)
            } else {
                Theme::builtin("dark").unwrap_or_else(|| Theme::blank("dark"))
            });
        };
        if depth + 1 >= MAX_EXTENDS_DEPTH {
            return Err(ThemeError::ExtendsCycle {
                file: self.file.to_path_buf(),
                name: base,
            });
        }
        // A user theme extending its own name means the built-in of that name.
        let base_dir = if base == default_name { None } else { user_dir };
        resolve(&base, base_dir, depth + 1).map_err(|e| match e {
            ThemeError::NotFound { .. } | ThemeError::InvalidName(_) => {
                self.field_err("extends", &self.table["extends"], e.to_string())
            }
            other => other,
        })
    }

    /// Sets every palette slot the file names; an unknown key is an error.
    fn apply_slots(&self, theme: &mut Theme) -> Result<(), ThemeError> {
        for (key, value) in &self.table {
            if META_KEYS.contains(&key.as_str()) {
                continue;
            }
            match theme.apply_slot(key, value.get_ref()) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(self.field_err(
                        key,
                        value,
                        format!("unknown field (known: {})", SLOT_NAMES.join(", ")),
                    ));
                }
                Err(message) => return Err(self.field_err(key, value, message)),
            }
        }
        Ok(())
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
