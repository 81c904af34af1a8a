//! Copying: OSC 52 to the terminal (works over SSH), plus a native clipboard tool when one is
//! installed. What is copied always goes through [`crate::sanitize::for_clipboard`] first.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// What a copy puts on the clipboard: the text through [`crate::sanitize::for_clipboard`]
/// (controls, escape sequences and invisible characters removed; newline and tab kept), and
/// the OSC 52 sequence that carries it.
pub(crate) struct ClipboardPayload {
    pub text: String,
    pub osc52: String,
}

pub(crate) fn clipboard_payload(text: &str) -> ClipboardPayload {
    let text = crate::sanitize::for_clipboard(text).into_owned();
    let osc52 = format!("\x1b]52;c;{}\x07", BASE64.encode(text.as_bytes()));
    ClipboardPayload { text, osc52 }
}

/// OSC 52, plus the first native clipboard tool that takes the text; the chars copied and how.
#[allow(clippy::disallowed_methods)] // OSC 52 is written to the terminal itself
pub(crate) fn copy_to_clipboard(text: &str) -> Result<(usize, &'static str), String> {
    let ClipboardPayload { text, osc52 } = clipboard_payload(text);
    let chars = text.chars().count();
    let mut out = std::io::stdout();
    let osc = out.write_all(osc52.as_bytes()).and_then(|_| out.flush());
    for (tool, args) in [
        ("wl-copy", &[][..]),
        ("xclip", &["-selection", "clipboard"][..]),
        ("xsel", &["--clipboard", "--input"][..]),
        ("pbcopy", &[][..]),
    ] {
        let child = std::process::Command::new(tool)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            if child.wait().is_ok_and(|s| s.success()) {
                return Ok((chars, tool));
            }
        }
    }
    osc.map(|_| (chars, "OSC 52")).map_err(|e| e.to_string())
}

/// The image on the system clipboard, as the first tool that has one gives it (PNG).
pub(crate) fn clipboard_image() -> Result<Vec<u8>, String> {
    let tools = image_tools(
        std::env::var_os("WAYLAND_DISPLAY").is_some(),
        std::env::var_os("DISPLAY").is_some(),
        cfg!(target_os = "macos"),
    );
    let mut asked = Vec::new();
    for (tool, args) in tools {
        let output = std::process::Command::new(tool)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        match output {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{tool} could not be run: {e}")),
            Ok(out) if out.status.success() && !out.stdout.is_empty() => return Ok(out.stdout),
            Ok(_) => asked.push(tool),
        }
    }
    if asked.is_empty() {
        Err(
            "no tool to read the clipboard's image — install wl-clipboard (Wayland) or xclip \
             (X11), or save the image and /attach it"
                .to_owned(),
        )
    } else {
        Err(format!(
            "no image on the clipboard ({} found none) — copy an image first; text pastes with \
             the terminal's own paste key",
            asked.join(", ")
        ))
    }
}

/// The tools that read an image off the clipboard, for the display systems there are.
fn image_tools(
    wayland: bool,
    x11: bool,
    macos: bool,
) -> Vec<(&'static str, &'static [&'static str])> {
    let mut tools: Vec<(&'static str, &'static [&'static str])> = Vec::new();
    if wayland {
        tools.push(("wl-paste", &["--no-newline", "--type", "image/png"]));
    }
    if x11 {
        tools.push((
            "xclip",
            &["-selection", "clipboard", "-t", "image/png", "-o"],
        ));
    }
    if macos {
        tools.push(("pngpaste", &["-"]));
    }
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clipboard_image_is_asked_of_the_display_systems_there_are() {
        let names = |w, x, m| {
            image_tools(w, x, m)
                .into_iter()
                .map(|t| t.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(true, true, false), ["wl-paste", "xclip"]);
        assert_eq!(names(false, false, true), ["pngpaste"]);
        assert!(names(false, false, false).is_empty());
        assert!(clipboard_image().is_err() || std::env::var_os("DISPLAY").is_some());
    }

    #[test]
    fn the_clipboard_gets_text_without_controls_or_hidden_characters() {
        let reply = "run \u{1b}]52;c;ZXZpbA==\u{7}this\u{1b}[2J\r\n\tls\u{202e}txt.exe\u{202c}\u{200b} \u{9b}31m👨\u{200d}👩\n";
        let payload = clipboard_payload(reply);
        assert_eq!(payload.text, "run this\n\tlstxt.exe 👨\u{200d}👩\n");
        let encoded = payload
            .osc52
            .strip_prefix("\x1b]52;c;")
            .and_then(|rest| rest.strip_suffix('\x07'))
            .expect("one OSC 52 sequence");
        assert_eq!(BASE64.decode(encoded).unwrap(), payload.text.as_bytes());
        assert!(!encoded.contains(['\x1b', '\x07']));
        assert_eq!(clipboard_payload("hi!").osc52, "\x1b]52;c;aGkh\x07");
    }
}
