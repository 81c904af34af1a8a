//! Attaching files to the next prompt: `/attach`, `/detach`, `/cite`, a pasted path, the
//! clipboard's image, Tab completing a path, and the driver's answers. Each file becomes a
//! chip at once and is prepared by the driver; the prompt takes the chips that are ready.

use crate::app::attach::{AttachSource, PasteOffer, PathCompletion, Pending, PendingAttachment};
use crate::app::*;
use crate::attach::{AttachError, Attachment};
use crossterm::event::KeyEvent;

use super::slash::{SLASH_COMMANDS, Slash, is_command_word};

impl App {
    /// `/attach PATH…`: one chip, and one job, per word (a glob may bring several files).
    pub(super) fn attach_words(&mut self, arg: &str, effects: &mut Vec<Effect>) -> Slash {
        let words = match shlex::split(arg) {
            Some(words) if !words.is_empty() => words,
            _ => {
                self.notify(Notice::error(
                    "usage: /attach PATH… (Tab completes; quote a path with spaces; globs work: /attach shots/*.png)",
                ));
                return Slash::Invalid;
            }
        };
        for word in words {
            self.start_attach(AttachSource::Path(word), effects);
        }
        Slash::Done
    }

    /// Put up a chip for `source` and ask the driver to prepare it.
    pub(super) fn start_attach(&mut self, source: AttachSource, effects: &mut Vec<Effect>) {
        let job = self.next_request;
        self.next_request += 1;
        let what = match &source {
            AttachSource::Path(word) => word.clone(),
            AttachSource::Clipboard => "clipboard image".to_owned(),
        };
        let pane = self.pane_mut();
        pane.attachments.push(PendingAttachment {
            job,
            state: Pending::Preparing { what },
        });
        effects.push(Effect::Attach {
            conversation: pane.id().to_owned(),
            job,
            source,
        });
    }

    /// The driver prepared a job's files: their chips replace its placeholder, each failure is
    /// said (the draft and the other chips stay as they are).
    pub(super) fn on_attached(
        &mut self,
        conversation: &str,
        job: u64,
        results: Vec<Result<Attachment, AttachError>>,
    ) {
        let Some(pane) = self.panes.iter_mut().find(|p| p.id() == conversation) else {
            return;
        };
        let Some(at) = pane.attachments.iter().position(|a| a.job == job) else {
            // Detached while it was being prepared.
            return;
        };
        pane.attachments.remove(at);
        let mut errors = Vec::new();
        let mut added = Vec::new();
        let mut twice = Vec::new();
        for result in results {
            match result {
                Ok(a)
                    if pane
                        .attachments
                        .iter()
                        .any(|p| p.ready().is_some_and(|r| r.sha256 == a.sha256)) =>
                {
                    twice.push(a.name);
                }
                Ok(a) => added.push(a),
                Err(e) => errors.push(e.to_string()),
            }
        }
        for (i, a) in added.into_iter().enumerate() {
            pane.attachments.insert(
                at + i,
                PendingAttachment {
                    job,
                    state: Pending::Ready(a),
                },
            );
        }
        if let Some(first) = errors.first() {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            self.notify(Notice::error(
                crate::sanitize::for_terminal(&format!("{first}{more}")).into_owned(),
            ));
        } else if let Some(name) = twice.first() {
            self.notify(Notice::info(
                crate::sanitize::for_terminal(&format!("{name} is attached already")).into_owned(),
            ));
        }
    }

    /// `/detach`: remove every chip; `/detach N` or `/detach NAME`: that one.
    pub(super) fn detach(&mut self, arg: &str) -> Result<String, String> {
        let pane = self.pane_mut();
        if pane.attachments.is_empty() {
            return Err("nothing is attached".to_owned());
        }
        if arg.is_empty() {
            let n = pane.attachments.len();
            pane.attachments.clear();
            return Ok(match n {
                1 => "attachment removed".to_owned(),
                n => format!("{n} attachments removed"),
            });
        }
        let at = match arg.parse::<usize>() {
            Ok(n) if (1..=pane.attachments.len()).contains(&n) => Some(n - 1),
            Ok(_) => None,
            Err(_) => pane.attachments.iter().position(|a| a.name() == arg),
        };
        match at {
            Some(at) => {
                let removed = pane.attachments.remove(at);
                Ok(format!(
                    "removed {}",
                    crate::sanitize::for_terminal(removed.name())
                ))
            }
            None => Err(format!(
                "usage: /detach [N|NAME] — {} attached (1 to {})",
                pane.attachments.len(),
                pane.attachments.len()
            )),
        }
    }

    /// `/cite on|off`: ask for citations of the documents this conversation sends.
    pub(super) fn set_citations(&mut self, arg: &str) -> Result<String, String> {
        let on = match arg {
            "on" => true,
            "off" => false,
            "" => {
                let on = self.pane().conversation.params.citations;
                return Ok(format!("citations {}", if on { "on" } else { "off" }));
            }
            _ => return Err("usage: /cite on|off".to_owned()),
        };
        self.pane_mut().conversation.params.citations = on;
        Ok(if on {
            "citations on: replies cite the PDFs and text files attached".to_owned()
        } else {
            "citations off".to_owned()
        })
    }

    /// Backspace at the very start of the input takes the last chip off.
    pub(super) fn detach_last_on_backspace(&mut self) -> bool {
        let pane = self.pane_mut();
        if pane.attachments.is_empty() || pane.input.cursor() != (0, 0) {
            return false;
        }
        if let Some(removed) = pane.attachments.pop() {
            let name = crate::sanitize::for_terminal(removed.name()).into_owned();
            self.notify(Notice::info(format!(
                "removed {name} — /attach brings it back"
            )));
        }
        true
    }

    /// A paste of existing file paths (the driver checked them): ask before attaching.
    pub(super) fn on_pasted_files(&mut self, offer: PasteOffer, effects: &mut Vec<Effect>) {
        if self.overlay != Overlay::None || self.pane().selection.is_some() {
            self.on_paste(&offer.text, effects);
            return;
        }
        self.pane_mut().paste_offer = Some(offer);
    }

    /// A key while a paste offer waits: Enter attaches the files, Esc pastes the text, any
    /// other key pastes the text and then does what it does. `true` when the key was used up.
    pub(super) fn on_paste_offer_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
        let Some(offer) = self.pane_mut().paste_offer.take() else {
            return false;
        };
        match self.settings.keymap.command_for(&key) {
            Some(KeyAction::Send) => {
                for file in offer.files {
                    self.start_attach(AttachSource::Path(file), effects);
                }
                true
            }
            Some(KeyAction::Stop) => {
                self.on_paste(&offer.text, effects);
                true
            }
            _ => {
                self.on_paste(&offer.text, effects);
                false
            }
        }
    }

    /// Tab: complete a slash command's name, or the path being typed after `/attach`. `false`
    /// when there is nothing to complete (the key then goes to the input).
    pub(super) fn complete(&mut self, effects: &mut Vec<Effect>) -> bool {
        let pane = self.pane();
        let draft = pane.input_text();
        let cursor = pane.input.cursor();
        let (row, col) = (cursor.0, cursor.1);
        // Only a one-line draft with the cursor at its end.
        if row != 0 || draft.contains('\n') || col != draft.chars().count() {
            return false;
        }
        if let Some(rest) = draft.strip_prefix("/attach ") {
            let word_start = draft.len() - last_word(rest).len();
            effects.push(Effect::CompletePath {
                conversation: pane.id().to_owned(),
                draft,
                word_start,
            });
            return true;
        }
        if let Some(partial) = draft.strip_prefix('/')
            && !partial.is_empty()
            && is_command_word(partial)
            && !partial.contains(' ')
        {
            let names: Vec<String> = SLASH_COMMANDS
                .iter()
                .filter(|c| c.starts_with(partial))
                .map(|c| (*c).to_owned())
                .collect();
            let prefix = crate::app::attach::common_prefix(&names).to_owned();
            match names.len() {
                0 => {}
                1 => self.replace_draft(&format!("/{prefix} ")),
                _ => {
                    if prefix.len() > partial.len() {
                        self.replace_draft(&format!("/{prefix}"));
                    }
                    let shown: Vec<String> = names.iter().map(|n| format!("/{n}")).collect();
                    self.notify(Notice::info(shown.join(" ")));
                }
            }
            return true;
        }
        false
    }

    /// The driver's names for the path after `/attach`: the common part is filled in, and
    /// several choices are listed.
    pub(super) fn on_path_completed(&mut self, conversation: &str, completion: PathCompletion) {
        if self.pane().id() != conversation || self.pane().input_text() != completion.draft {
            return;
        }
        let draft = &completion.draft;
        let word = &draft[completion.word_start..];
        if completion.candidates.is_empty() {
            let shown = crate::sanitize::for_terminal(word).into_owned();
            self.notify(Notice::error(format!("no file matches {shown}")));
            return;
        }
        let prefix = crate::app::attach::common_prefix(&completion.candidates);
        let mut next = format!("{}{}", &draft[..completion.word_start], quote_path(prefix));
        if completion.candidates.len() == 1 && !prefix.ends_with('/') {
            next.push(' ');
        }
        if next != *draft {
            self.replace_draft(&next);
        }
        if completion.candidates.len() > 1 {
            let names: Vec<&str> = completion
                .candidates
                .iter()
                .map(|c| c.trim_end_matches('/').rsplit('/').next().unwrap_or(c))
                .collect();
            let shown = crate::sanitize::for_terminal(&names.join("  ")).into_owned();
            self.notify(Notice::info(format!("{} matches: {shown}", names.len())));
        }
    }

    fn replace_draft(&mut self, text: &str) {
        let pane = self.pane_mut();
        pane.input = new_input();
        pane.input.insert_str(text);
    }

    /// The chips ready to go with a prompt, or the notice that one is still being prepared.
    pub(super) fn ready_attachments(&mut self) -> Option<Vec<Attachment>> {
        let pane = self.pane();
        if let Some(busy) = pane.attachments.iter().find(|a| a.ready().is_none()) {
            let name = crate::sanitize::for_terminal(busy.name()).into_owned();
            let key = self.settings.keymap.label(KeyAction::Send);
            self.notify(Notice::info(format!(
                "{name} is still being prepared; {key} sends once it is ready"
            )));
            return None;
        }
        Some(
            pane.attachments
                .iter()
                .filter_map(|a| a.ready().cloned())
                .collect(),
        )
    }
}

/// The last shell word of `text` (what Tab completes): after the last unquoted space.
fn last_word(text: &str) -> &str {
    let mut start = 0;
    let mut escaped = false;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote != Some('\'') => escaped = true,
            '\'' | '"' if quote == Some(c) => quote = None,
            '\'' | '"' if quote.is_none() => quote = Some(c),
            ' ' if quote.is_none() => start = i + 1,
            _ => {}
        }
    }
    &text[start..]
}

/// A path as it can be typed back as one word.
fn quote_path(path: &str) -> String {
    if path
        .chars()
        .all(|c| c.is_alphanumeric() || "/._-~+,@%:=".contains(c))
    {
        path.to_owned()
    } else {
        shlex::try_quote(path).map_or_else(|_| path.to_owned(), |q| q.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_word_respects_quotes() {
        assert_eq!(last_word("a b"), "b");
        assert_eq!(last_word("a 'b c"), "'b c");
        assert_eq!(last_word(r"a b\ c"), r"b\ c");
        assert_eq!(last_word("a "), "");
        assert_eq!(quote_path("src/main.rs"), "src/main.rs");
        assert_eq!(quote_path("my shots/a.png"), "'my shots/a.png'");
    }
}
