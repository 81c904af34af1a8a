//! Slot values: parsing a colour or a style from TOML, and hashing them into [`super::Theme::id`].
//!
//! Parsing and hashing are written once per slot kind (`style`, `color`) and called from the
//! `slots!` macro, so every slot is read and hashed the same way. The hash is FNV-1a over a
//! fixed encoding of each value (not `std::hash`), so a theme's id is the same on every run
//! and toolchain.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

fn parse_color(s: &str) -> Result<Color, String> {
    Color::from_str(s.trim()).map_err(|_| {
        format!("`{s}` is not a colour (use \"#rrggbb\", a name like \"lightblue\", or 0-255)")
    })
}

pub(super) fn parse_color_value(v: &toml::Value) -> Result<Color, String> {
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
pub(super) fn parse_style(v: &toml::Value) -> Result<Style, String> {
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
pub(super) struct Fnv(u64);

impl Fnv {
    pub(super) fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub(super) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Field separator so ("ab","c") and ("a","bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
    pub(super) fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) fn hash_color(h: &mut Fnv, c: Color) {
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

pub(super) fn hash_style(h: &mut Fnv, s: Style) {
    h.write(&[u8::from(s.fg.is_some()), u8::from(s.bg.is_some())]);
    hash_color(h, s.fg.unwrap_or(Color::Reset));
    hash_color(h, s.bg.unwrap_or(Color::Reset));
    h.write(&s.add_modifier.bits().to_le_bytes());
    h.write(&s.sub_modifier.bits().to_le_bytes());
}
