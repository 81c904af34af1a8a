//! Composing in `$VISUAL`/`$EDITOR`: the app leaves the terminal, the editor edits a temporary
//! file, the app takes the terminal back and reads the file.

use super::terminal::{enter_app_mode, restore_terminal};

/// Suspend the app, edit `text` in `$VISUAL`/`$EDITOR` (else `vi`), come back.
pub(crate) fn run_editor(text: &str) -> Result<String, String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    let file = tempfile::Builder::new()
        .prefix("tern-prompt-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
    std::fs::write(file.path(), text).map_err(|e| e.to_string())?;
    restore_terminal();
    // Through the shell, so `EDITOR="code --wait"` works; the path is an argument, not code.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status();
    enter_app_mode().map_err(|e| format!("cannot restore the terminal: {e}"))?;
    match status {
        Ok(s) if s.success() => std::fs::read_to_string(file.path()).map_err(|e| e.to_string()),
        Ok(s) => Err(format!("{editor} exited with {s}; the input is unchanged")),
        Err(e) => Err(format!("cannot run {editor}: {e}")),
    }
}
