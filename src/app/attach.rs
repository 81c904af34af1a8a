//! Attachments waiting to go with a pane's next prompt, as the reducer sees them.
//!
//! Preparing a file (reading, decoding, scaling) is I/O and slow, so it happens in the driver:
//! the reducer puts a chip up at once (`Preparing`, under the words the user typed) and swaps it
//! for the finished attachment, or for an error notice, when the driver answers with the same
//! job number. Only the reference and what the chip shows live here; the bytes never enter the
//! app's state (see [`crate::attach`]).

use crate::attach::Attachment;

/// One chip above the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAttachment {
    /// The job the driver answers with.
    pub job: u64,
    pub state: Pending,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Being read and prepared; `what` is what the user named (a path, a glob, "clipboard").
    Preparing {
        what: String,
    },
    Ready(Attachment),
}

impl PendingAttachment {
    pub fn ready(&self) -> Option<&Attachment> {
        match &self.state {
            Pending::Ready(a) => Some(a),
            Pending::Preparing { .. } => None,
        }
    }

    /// The name a notice uses for it.
    pub fn name(&self) -> &str {
        match &self.state {
            Pending::Ready(a) => &a.name,
            Pending::Preparing { what } => what,
        }
    }
}

/// Where the driver reads a file to attach from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachSource {
    /// A path as typed or pasted: `~` is expanded and a glob may name several files.
    Path(String),
    /// The image on the system clipboard.
    Clipboard,
}

/// A paste that was exactly one or more existing files: the user is asked whether to attach
/// them or to paste the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteOffer {
    /// The text as pasted.
    pub text: String,
    /// The files it names.
    pub files: Vec<String>,
}

/// Names for a path being typed after `/attach`, from the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathCompletion {
    /// The draft the completion was asked for; a draft that changed since ignores it.
    pub draft: String,
    /// Where in the draft (a byte offset) the word being completed starts.
    pub word_start: usize,
    /// The paths that complete the word (a directory ends with `/`), sorted.
    pub candidates: Vec<String>,
}

/// The longest prefix every candidate shares (at a character boundary).
pub fn common_prefix(candidates: &[String]) -> &str {
    let Some(first) = candidates.first() else {
        return "";
    };
    let mut end = first.len();
    for other in &candidates[1..] {
        end = first
            .char_indices()
            .zip(other.chars())
            .find(|((_, a), b)| a != b)
            .map_or(end.min(other.len()), |((i, _), _)| i.min(end));
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_of_candidates() {
        let c = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&c(&["src/main.rs", "src/mod.rs"])), "src/m");
        assert_eq!(common_prefix(&c(&["a.png"])), "a.png");
        assert_eq!(common_prefix(&c(&["ab", "a"])), "a");
        assert_eq!(common_prefix(&c(&["é1", "é2"])), "é");
        assert_eq!(common_prefix(&[]), "");
    }
}
