//! Paths as people type and paste them: `~` for home, globs, shell quoting, the `file://`
//! URIs and backslash escapes terminals paste for a dragged file, and Tab completion.
//!
//! Parsing is pure; the functions that look at the file system say so in their names
//! (`expand`, `existing_files`, `complete`) and run in the driver, never in the reducer.

use std::path::{Path, PathBuf};

use super::AttachError;

/// The most a paste may hold to be taken for file paths (anything longer is text).
const MAX_PASTED_PATHS: usize = 50;

/// The home directory, for `~`.
fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

/// `~` and `~/…` with the home directory put in; any other path as it is.
pub fn expand_home(word: &str) -> PathBuf {
    match (word.strip_prefix('~'), home()) {
        (Some(""), Some(home)) => home,
        (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
        _ => PathBuf::from(word),
    }
}

/// The files one `/attach` word names: itself (after `~`), or what its glob matches, sorted.
pub fn expand(word: &str) -> Result<Vec<PathBuf>, AttachError> {
    let path = expand_home(word);
    if !word.contains(['*', '?', '[']) {
        return Ok(vec![path]);
    }
    let pattern = path.to_string_lossy().into_owned();
    let matches = glob::glob(&pattern).map_err(|e| {
        AttachError::Other(format!("{word}: not a pattern tern can read ({})", e.msg))
    })?;
    let mut files: Vec<PathBuf> = matches
        .filter_map(Result::ok)
        .filter(|p| !p.is_dir())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(AttachError::Other(format!(
            "no file matches {word} — check the pattern (Tab completes paths)"
        )));
    }
    Ok(files)
}

/// The paths a paste names, if it looks like nothing but paths: one or more per line, shell
/// quoted or backslash escaped, or `file://` URIs, as terminals paste dragged files. Whether
/// they exist is for [`existing_files`].
pub fn pasted_paths(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 * 1024 {
        return None;
    }
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(uri) = line.strip_prefix("file://") {
            // `file:///path` or `file://host/path`: the path starts at the first slash.
            let path = &uri[uri.find('/')?..];
            paths.push(percent_decode(path)?);
            continue;
        }
        for word in shlex::split(line)? {
            let looks_like_path = (word.contains('/') || word.contains('.'))
                && !word.starts_with('-')
                && !word.contains("://");
            if !looks_like_path {
                return None;
            }
            paths.push(word);
        }
    }
    (!paths.is_empty() && paths.len() <= MAX_PASTED_PATHS).then_some(paths)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The paths of a paste when every one is an existing file (not a directory).
pub fn existing_files(text: &str) -> Option<Vec<String>> {
    let paths = pasted_paths(text)?;
    paths
        .iter()
        .all(|p| expand_home(p).is_file())
        .then_some(paths)
}

/// A word as typed so far, without its shell quoting (an opening quote may be unclosed).
pub fn unquote_partial(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote != Some('\'') => out.extend(chars.next()),
            '\'' | '"' if quote == Some(c) => quote = None,
            '\'' | '"' if quote.is_none() => quote = Some(c),
            _ => out.push(c),
        }
    }
    out
}

/// The paths that complete `word` (as typed, quoting and `~` allowed), relative paths from
/// `cwd`; directories end with `/`. Hidden files only when the word's last part starts with
/// a dot. At most 200, sorted.
pub fn complete(word: &str, cwd: &Path) -> Vec<String> {
    let typed = unquote_partial(word);
    let (dir_part, prefix) = match typed.rfind('/') {
        Some(at) => typed.split_at(at + 1),
        None => ("", typed.as_str()),
    };
    let dir = match dir_part {
        "" => cwd.to_path_buf(),
        d => {
            let expanded = expand_home(d);
            if expanded.is_absolute() {
                expanded
            } else {
                cwd.join(expanded)
            }
        }
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let is_dir = entry.path().is_dir();
            Some(format!("{dir_part}{name}{}", if is_dir { "/" } else { "" }))
        })
        .collect();
    out.sort();
    out.truncate(200);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pastes_of_paths_are_recognised() {
        let v = |s: &[&str]| Some(s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
        assert_eq!(pasted_paths("/tmp/a.png"), v(&["/tmp/a.png"]));
        assert_eq!(
            pasted_paths("'/tmp/my shot.png' /tmp/b.pdf"),
            v(&["/tmp/my shot.png", "/tmp/b.pdf"])
        );
        assert_eq!(pasted_paths(r"/tmp/my\ shot.png"), v(&["/tmp/my shot.png"]));
        assert_eq!(
            pasted_paths("file:///tmp/my%20shot.png\nfile:///tmp/b.pdf\n"),
            v(&["/tmp/my shot.png", "/tmp/b.pdf"])
        );
        assert_eq!(pasted_paths("  ~/notes.txt  "), v(&["~/notes.txt"]));
        assert_eq!(pasted_paths("please look at this"), None);
        assert_eq!(pasted_paths("see /tmp/a.png"), None);
        assert_eq!(pasted_paths("https://example.com/a.png"), None);
        assert_eq!(pasted_paths(""), None);
        assert_eq!(pasted_paths("'unclosed"), None);
    }

    #[test]
    fn only_existing_files_make_an_offer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a b.png");
        std::fs::write(&file, b"x").unwrap();
        let quoted = format!("'{}'", file.display());
        assert_eq!(
            existing_files(&quoted),
            Some(vec![file.display().to_string()])
        );
        let missing = format!("{} {}", quoted, dir.path().join("nope.png").display());
        assert_eq!(existing_files(&missing), None);
        // A directory is not a file to attach.
        assert_eq!(existing_files(&format!("{}/", dir.path().display())), None);
    }

    #[test]
    fn globs_expand_sorted_and_say_when_nothing_matches() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.rs", "a.rs", "c.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.rs")).unwrap();
        let pattern = format!("{}/*.rs", dir.path().display());
        let files = expand(&pattern).unwrap();
        let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, ["a.rs", "b.rs"]);
        let none = format!("{}/*.png", dir.path().display());
        assert!(
            expand(&none)
                .unwrap_err()
                .to_string()
                .starts_with("no file matches")
        );
        assert_eq!(
            expand("plain.png").unwrap(),
            vec![PathBuf::from("plain.png")]
        );
    }

    #[test]
    fn home_is_expanded() {
        let home = home().unwrap();
        assert_eq!(expand_home("~"), home);
        assert_eq!(expand_home("~/x.png"), home.join("x.png"));
        assert_eq!(expand_home("~x"), PathBuf::from("~x"));
    }

    #[test]
    fn completion_lists_what_the_word_starts() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["main.rs", "mod.rs", ".hidden", "my shots"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("media")).unwrap();
        assert_eq!(
            complete("m", dir.path()),
            ["main.rs", "media/", "mod.rs", "my shots"]
        );
        assert_eq!(complete("'my s", dir.path()), ["my shots"]);
        assert_eq!(complete(".h", dir.path()), [".hidden"]);
        let abs = format!("{}/ma", dir.path().display());
        assert_eq!(
            complete(&abs, Path::new("/")),
            [format!("{}/main.rs", dir.path().display())]
        );
        assert!(complete("zzz", dir.path()).is_empty());
    }

    #[test]
    fn partial_words_lose_their_quoting() {
        assert_eq!(unquote_partial("'my sh"), "my sh");
        assert_eq!(unquote_partial(r"my\ sh"), "my sh");
        assert_eq!(unquote_partial(r#""a b"c"#), "a bc");
    }
}
