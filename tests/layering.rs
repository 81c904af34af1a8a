//! The layers' imports: the core (`app`, `store`, `render`, `api`) never reaches up to the view
//! (`ui`) or the driver (`driver`), so each can be tested, and changed, below them.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::Path;

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_imports_nothing_from_the_view_or_the_driver() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for layer in ["app", "store", "render", "api"] {
        let mut files = Vec::new();
        sources(&src.join(layer), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                // Doc comments may point at the driver that carries an effect out.
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if code.contains("crate::ui") || code.contains("crate::driver") {
                    found.push(format!("{}:{}: {code}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "upward imports:\n{}", found.join("\n"));
}
