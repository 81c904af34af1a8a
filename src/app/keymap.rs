//! Key bindings: named commands, their default keys, and user overrides from `[keys]`.
//!
//! Keys map to [`KeyAction`]s, never straight to behaviour, so the help overlay, the config file and
//! the reducer all speak the same names. A key with no command goes to the text input.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAction {
    Send,
    Newline,
    Stop,
    Interrupt,
    Quit,
    ModelPicker,
    Browser,
    NewConversation,
    CloseConversation,
    NextTab,
    PrevTab,
    PageUp,
    PageDown,
    ScrollUp,
    ScrollDown,
    Top,
    Bottom,
    Editor,
    CopyReply,
    CopyCode,
    Retry,
    ToggleThinking,
    SelectMessages,
    PasteImage,
    Complete,
    Help,
}

impl KeyAction {
    pub const ALL: [KeyAction; 26] = [
        KeyAction::Send,
        KeyAction::Newline,
        KeyAction::Stop,
        KeyAction::Interrupt,
        KeyAction::Quit,
        KeyAction::ModelPicker,
        KeyAction::Browser,
        KeyAction::NewConversation,
        KeyAction::CloseConversation,
        KeyAction::NextTab,
        KeyAction::PrevTab,
        KeyAction::PageUp,
        KeyAction::PageDown,
        KeyAction::ScrollUp,
        KeyAction::ScrollDown,
        KeyAction::Top,
        KeyAction::Bottom,
        KeyAction::Editor,
        KeyAction::CopyReply,
        KeyAction::CopyCode,
        KeyAction::Retry,
        KeyAction::ToggleThinking,
        KeyAction::SelectMessages,
        KeyAction::PasteImage,
        KeyAction::Complete,
        KeyAction::Help,
    ];

    /// The name used in `[keys]` of config.toml.
    pub fn name(self) -> &'static str {
        match self {
            KeyAction::Send => "send",
            KeyAction::Newline => "newline",
            KeyAction::Stop => "stop",
            KeyAction::Interrupt => "interrupt",
            KeyAction::Quit => "quit",
            KeyAction::ModelPicker => "model_picker",
            KeyAction::Browser => "browser",
            KeyAction::NewConversation => "new_conversation",
            KeyAction::CloseConversation => "close_conversation",
            KeyAction::NextTab => "next_tab",
            KeyAction::PrevTab => "prev_tab",
            KeyAction::PageUp => "page_up",
            KeyAction::PageDown => "page_down",
            KeyAction::ScrollUp => "scroll_up",
            KeyAction::ScrollDown => "scroll_down",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::Editor => "editor",
            KeyAction::CopyReply => "copy_reply",
            KeyAction::CopyCode => "copy_code",
            KeyAction::Retry => "retry",
            KeyAction::ToggleThinking => "toggle_thinking",
            KeyAction::SelectMessages => "select_messages",
            KeyAction::PasteImage => "paste_image",
            KeyAction::Complete => "complete",
            KeyAction::Help => "help",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            KeyAction::Send => "send the message",
            KeyAction::Newline => "new line in the message",
            KeyAction::Stop => "stop the reply / close a popup",
            KeyAction::Interrupt => "stop a reply, else clear the input (↑ restores), else quit",
            KeyAction::Quit => "quit (asks if a reply streams or a draft is unsent)",
            KeyAction::ModelPicker => "choose the model for the next turn",
            KeyAction::Browser => "saved conversations (search, open, rename, delete)",
            KeyAction::NewConversation => "new conversation tab",
            KeyAction::CloseConversation => {
                "close this tab (it stays saved; asks if busy or drafted)"
            }
            KeyAction::NextTab => "next tab",
            KeyAction::PrevTab => "previous tab",
            KeyAction::PageUp => "scroll up a page",
            KeyAction::PageDown => "scroll down a page",
            KeyAction::ScrollUp => "scroll up a line",
            KeyAction::ScrollDown => "scroll down a line",
            KeyAction::Top => "jump to the first message",
            KeyAction::Bottom => "jump to the end and follow the reply",
            KeyAction::Editor => "compose the message in $EDITOR",
            KeyAction::CopyReply => "copy the last reply",
            KeyAction::CopyCode => "choose a code block and copy it",
            KeyAction::Retry => "retry the last turn after an error or a refusal",
            KeyAction::ToggleThinking => "show or fold the model's thinking in this conversation",
            KeyAction::SelectMessages => {
                "select a message: edit, regenerate, switch branches, copy, fork"
            }
            KeyAction::PasteImage => "attach the image on the clipboard",
            KeyAction::Complete => "complete a /command or the path after /attach",
            KeyAction::Help => "this help",
        }
    }

    fn default_keys(self) -> &'static [&'static str] {
        match self {
            KeyAction::Send => &["enter"],
            KeyAction::Newline => &["alt+enter", "ctrl+j", "shift+enter"],
            KeyAction::Stop => &["esc"],
            KeyAction::Interrupt => &["ctrl+c"],
            KeyAction::Quit => &["ctrl+q"],
            KeyAction::ModelPicker => &["ctrl+p"],
            KeyAction::Browser => &["ctrl+r"],
            KeyAction::NewConversation => &["ctrl+n"],
            // Not Ctrl+W: that deletes a word in the input, as in readline and every shell.
            // Ctrl+X arrives as one control byte on every terminal (no Alt/Option quirks), no
            // emulator, multiplexer or browser-hosted terminal takes it, and nano uses it to close.
            KeyAction::CloseConversation => &["ctrl+x"],
            KeyAction::NextTab => &["alt+right"],
            KeyAction::PrevTab => &["alt+left"],
            KeyAction::PageUp => &["pageup"],
            KeyAction::PageDown => &["pagedown"],
            KeyAction::ScrollUp => &["alt+up"],
            KeyAction::ScrollDown => &["alt+down"],
            KeyAction::Top => &["ctrl+home"],
            KeyAction::Bottom => &["ctrl+end"],
            KeyAction::Editor => &["ctrl+e"],
            KeyAction::CopyReply => &["ctrl+y"],
            KeyAction::CopyCode => &["ctrl+o"],
            KeyAction::Retry => &["ctrl+t"],
            // Not Ctrl+K: that deletes to the end of the line in the input.
            KeyAction::ToggleThinking => &["alt+t"],
            // Raw mode turns flow control off, so Ctrl+S reaches the app everywhere.
            KeyAction::SelectMessages => &["ctrl+s"],
            // The terminal's own paste (Ctrl+Shift+V, Cmd+V) brings text; this brings pictures.
            KeyAction::PasteImage => &["ctrl+v"],
            KeyAction::Complete => &["tab"],
            KeyAction::Help => &["f1"],
        }
    }

    fn from_name(name: &str) -> Option<KeyAction> {
        KeyAction::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A key with modifiers, comparable and printable (`ctrl+p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeySpec {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// `KeyCode` reduced to what bindings use, with an order for stable help listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
}

impl KeySpec {
    pub fn from_event(key: &KeyEvent) -> Option<KeySpec> {
        let code = match key.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c.to_ascii_lowercase()),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            _ => return None,
        };
        let m = key.modifiers;
        // Shift on a printable character is already in the character itself.
        let shift = m.contains(KeyModifiers::SHIFT) && !matches!(code, KeyCodeOrd::Char(_));
        Some(KeySpec {
            code,
            ctrl: m.contains(KeyModifiers::CONTROL),
            alt: m.contains(KeyModifiers::ALT),
            shift,
        })
    }

    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let text = text.trim().to_ascii_lowercase();
        let mut spec = KeySpec {
            code: KeyCodeOrd::Esc,
            ctrl: false,
            alt: false,
            shift: false,
        };
        let mut parts: Vec<&str> = text.split('+').collect();
        // "ctrl++" means ctrl and the plus key.
        if text.ends_with("++") {
            parts.truncate(parts.len() - 2);
            parts.push("+");
        }
        let Some((key, modifiers)) = parts.split_last() else {
            return Err("empty key".into());
        };
        for m in modifiers {
            match *m {
                "ctrl" | "control" | "c" => spec.ctrl = true,
                "alt" | "meta" | "option" | "m" => spec.alt = true,
                "shift" | "s" => spec.shift = true,
                other => return Err(format!("unknown modifier `{other}`")),
            }
        }
        spec.code = match *key {
            "enter" | "return" => KeyCodeOrd::Enter,
            "esc" | "escape" => KeyCodeOrd::Esc,
            "tab" => KeyCodeOrd::Tab,
            "backtab" => KeyCodeOrd::BackTab,
            "backspace" => KeyCodeOrd::Backspace,
            "delete" | "del" => KeyCodeOrd::Delete,
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            "pageup" | "pgup" => KeyCodeOrd::PageUp,
            "pagedown" | "pgdn" => KeyCodeOrd::PageDown,
            "space" => KeyCodeOrd::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCodeOrd::F(f[1..].parse().unwrap_or(1))
            }
            c if c.chars().count() == 1 => KeyCodeOrd::Char(c.chars().next().unwrap_or(' ')),
            other => return Err(format!("unknown key `{other}`")),
        };
        Ok(spec)
    }
}

impl std::fmt::Display for KeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl+")?;
        }
        if self.alt {
            f.write_str("Alt+")?;
        }
        if self.shift {
            f.write_str("Shift+")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            KeyCodeOrd::Enter => f.write_str("Enter"),
            KeyCodeOrd::Esc => f.write_str("Esc"),
            KeyCodeOrd::Tab => f.write_str("Tab"),
            KeyCodeOrd::BackTab => f.write_str("Shift+Tab"),
            KeyCodeOrd::Backspace => f.write_str("Backspace"),
            KeyCodeOrd::Delete => f.write_str("Delete"),
            KeyCodeOrd::Up => f.write_str("↑"),
            KeyCodeOrd::Down => f.write_str("↓"),
            KeyCodeOrd::Left => f.write_str("←"),
            KeyCodeOrd::Right => f.write_str("→"),
            KeyCodeOrd::Home => f.write_str("Home"),
            KeyCodeOrd::End => f.write_str("End"),
            KeyCodeOrd::PageUp => f.write_str("PgUp"),
            KeyCodeOrd::PageDown => f.write_str("PgDn"),
        }
    }
}

/// `Alt+1`..`Alt+9` switch tabs before any binding is looked at; the digit, if `spec` is one.
fn tab_digit(spec: &KeySpec) -> Option<char> {
    match spec.code {
        KeyCodeOrd::Char(d @ '1'..='9') if spec.alt => Some(d),
        _ => None,
    }
}

/// Keys → commands.
#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: BTreeMap<KeySpec, KeyAction>,
    /// The key named first for each command (shown in hints).
    primary: BTreeMap<KeyAction, KeySpec>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let mut map = KeyMap {
            bindings: BTreeMap::new(),
            primary: BTreeMap::new(),
        };
        for command in KeyAction::ALL {
            for key in command.default_keys() {
                if let Ok(spec) = KeySpec::parse(key) {
                    map.bind(spec, command);
                }
            }
        }
        map
    }
}

impl KeyMap {
    /// Defaults with the user's `[keys]` applied: `command = "ctrl+x, f2"` replaces that
    /// command's keys. Unknown names or keys are errors naming them, and so is a key that
    /// another command still holds (both commands are named): a silent takeover would leave
    /// that command unreachable.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<KeyMap, String> {
        let mut wanted: Vec<(KeyAction, Vec<KeySpec>)> = Vec::new();
        for (name, keys) in overrides {
            let command = KeyAction::from_name(name).ok_or_else(|| {
                format!(
                    "[keys] names an unknown command `{name}` (known: {})",
                    KeyAction::ALL.map(KeyAction::name).join(", ")
                )
            })?;
            let mut specs = Vec::new();
            for key in keys.split(',').filter(|k| !k.trim().is_empty()) {
                let spec = KeySpec::parse(key).map_err(|e| format!("[keys] {name}: {e}"))?;
                if let Some(n) = tab_digit(&spec) {
                    return Err(format!(
                        "[keys] {name} = \"{spec}\" shadows go to tab {n} (Alt+1..9 switch tabs)"
                    ));
                }
                specs.push(spec);
            }
            wanted.push((command, specs));
        }
        let mut map = KeyMap::default();
        for (command, _) in &wanted {
            map.bindings.retain(|_, c| c != command);
            map.primary.remove(command);
        }
        for (command, specs) in &wanted {
            for spec in specs {
                match map.bindings.get(spec) {
                    Some(holder) if holder != command => {
                        let (holder, command) = (holder.name(), command.name());
                        let fix = if wanted.iter().any(|(c, _)| c.name() == holder) {
                            format!("[keys] gives it to {holder} as well; keep it on one")
                        } else {
                            format!("it is {holder}'s default; give {holder} another key first")
                        };
                        return Err(format!(
                            "[keys] {command} = \"{spec}\" shadows {holder}: {fix}"
                        ));
                    }
                    _ => map.bind(*spec, *command),
                }
            }
        }
        Ok(map)
    }

    fn bind(&mut self, spec: KeySpec, command: KeyAction) {
        if let Some(previous) = self.bindings.insert(spec, command)
            && self.primary.get(&previous) == Some(&spec)
        {
            // The key moved to another command: its old owner shows its next key.
            self.primary.remove(&previous);
            if let Some(next) = self.keys_for(previous).first().copied() {
                self.primary.insert(previous, next);
            }
        }
        self.primary.entry(command).or_insert(spec);
    }

    pub fn command_for(&self, key: &KeyEvent) -> Option<KeyAction> {
        self.bindings.get(&KeySpec::from_event(key)?).copied()
    }

    /// The keys bound to `command`, the primary one first, for help and hints.
    pub fn keys_for(&self, command: KeyAction) -> Vec<KeySpec> {
        let primary = self.primary.get(&command).copied();
        let mut keys: Vec<KeySpec> = primary.into_iter().collect();
        keys.extend(
            self.bindings
                .iter()
                .filter(|(k, c)| **c == command && Some(**k) != primary)
                .map(|(k, _)| *k),
        );
        keys
    }

    /// The primary key for `command` as text (e.g. "Ctrl+T"), or "unbound".
    pub fn label(&self, command: KeyAction) -> String {
        self.keys_for(command)
            .first()
            .map_or_else(|| "unbound".to_owned(), ToString::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn defaults_match_the_design() {
        let map = KeyMap::default();
        assert_eq!(
            map.command_for(&key(KeyCode::Enter, KeyModifiers::NONE)),
            Some(KeyAction::Send)
        );
        assert_eq!(
            map.command_for(&key(KeyCode::Enter, KeyModifiers::ALT)),
            Some(KeyAction::Newline)
        );
        assert_eq!(
            map.command_for(&key(KeyCode::Char('j'), KeyModifiers::CONTROL)),
            Some(KeyAction::Newline)
        );
        assert_eq!(
            map.command_for(&key(KeyCode::Char('p'), KeyModifiers::CONTROL)),
            Some(KeyAction::ModelPicker)
        );
        assert_eq!(
            map.command_for(&key(KeyCode::F(1), KeyModifiers::NONE)),
            Some(KeyAction::Help)
        );
        assert_eq!(
            map.command_for(&key(KeyCode::Char('p'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            map.command_for(&key(KeyCode::Char('P'), KeyModifiers::SHIFT)),
            None
        );
    }

    #[test]
    fn overrides_replace_a_command_keys() {
        let overrides = BTreeMap::from([("model_picker".to_owned(), "ctrl+k, f2".to_owned())]);
        let map = KeyMap::with_overrides(&overrides).unwrap();
        assert_eq!(
            map.command_for(&key(KeyCode::Char('p'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(
            map.command_for(&key(KeyCode::Char('k'), KeyModifiers::CONTROL)),
            Some(KeyAction::ModelPicker)
        );
        assert_eq!(
            map.command_for(&key(KeyCode::F(2), KeyModifiers::NONE)),
            Some(KeyAction::ModelPicker)
        );
        assert_eq!(map.label(KeyAction::ModelPicker), "Ctrl+K");
    }

    #[test]
    fn bad_overrides_are_named() {
        let bad = BTreeMap::from([("teleport".to_owned(), "ctrl+x".to_owned())]);
        assert!(
            KeyMap::with_overrides(&bad)
                .unwrap_err()
                .contains("teleport")
        );
        let bad = BTreeMap::from([("help".to_owned(), "hyper+x".to_owned())]);
        assert!(KeyMap::with_overrides(&bad).unwrap_err().contains("hyper"));
    }

    fn rejected(pairs: &[(&str, &str)]) -> String {
        let overrides = pairs
            .iter()
            .map(|(c, k)| ((*c).to_owned(), (*k).to_owned()))
            .collect();
        KeyMap::with_overrides(&overrides).unwrap_err()
    }

    #[test]
    fn a_key_that_shadows_another_command_is_rejected_with_both_names() {
        let error = rejected(&[("model_picker", "ctrl+q")]);
        assert!(error.contains("model_picker"), "{error}");
        assert!(error.contains("quit"), "{error}");
        assert!(error.contains("Ctrl+Q"), "{error}");

        // Two overrides on one key: both named.
        let error = rejected(&[("help", "f2"), ("editor", "f2")]);
        assert!(
            error.contains("help") && error.contains("editor"),
            "{error}"
        );

        // The tab keys are taken too.
        let error = rejected(&[("help", "alt+3")]);
        assert!(error.contains("go to tab 3"), "{error}");
    }

    #[test]
    fn a_key_freed_by_another_override_may_be_taken() {
        let overrides = BTreeMap::from([
            ("model_picker".to_owned(), "ctrl+q".to_owned()),
            ("quit".to_owned(), "f10".to_owned()),
        ]);
        let map = KeyMap::with_overrides(&overrides).unwrap();
        assert_eq!(
            map.command_for(&key(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(KeyAction::ModelPicker)
        );
        assert_eq!(
            map.command_for(&key(KeyCode::F(10), KeyModifiers::NONE)),
            Some(KeyAction::Quit)
        );
        // A command may repeat its own key, or keep one of its defaults.
        let overrides = BTreeMap::from([("newline".to_owned(), "ctrl+j, ctrl+j".to_owned())]);
        assert!(KeyMap::with_overrides(&overrides).is_ok());
    }

    #[test]
    fn no_default_key_serves_two_commands() {
        let mut seen = BTreeMap::new();
        for command in KeyAction::ALL {
            for key in command.default_keys() {
                let spec = KeySpec::parse(key).unwrap();
                if let Some(other) = seen.insert(spec, command) {
                    panic!("{spec} is bound to {other:?} and {command:?}");
                }
            }
        }
    }

    #[test]
    fn ctrl_w_is_left_to_the_input_and_ctrl_x_closes_a_tab() {
        let map = KeyMap::default();
        assert_eq!(
            map.command_for(&key(KeyCode::Char('w'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(
            map.command_for(&key(KeyCode::Char('x'), KeyModifiers::CONTROL)),
            Some(KeyAction::CloseConversation)
        );
    }

    #[test]
    fn spec_round_trips_through_display() {
        for text in [
            "ctrl+p",
            "alt+enter",
            "f1",
            "ctrl+home",
            "pageup",
            "ctrl+shift+x",
        ] {
            let spec = KeySpec::parse(text).unwrap();
            let shown = spec.to_string().replace('↑', "up");
            assert_eq!(KeySpec::parse(&shown).unwrap(), spec, "{text} -> {shown}");
        }
    }
}
