//! The review commands: `tern list`, `show`, `search`, `export` and `import`.
//!
//! They read the same store the app writes (WAL lets them run beside a live `tern`). Everything
//! goes out through [`crate::sanitize`]: text meant for people is sanitised when stdout is a
//! terminal (hidden characters shown as `⟨U+XXXX⟩`); `--json` and `export` are exact in a pipe.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::format::{fit, format_tokens, relative_time, rfc3339};
use crate::sanitize::TermText;
use crate::store::{
    ConversationSummary, SearchHit, Store, StoreError, TitleHit, data_dir, now_ms,
    search::snippet_runs,
};

/// Open for writing (import).
fn open(path: Option<&Path>) -> Result<Store, StoreError> {
    Store::open(data_dir(path)?)
}

/// Open for the read-only commands: a database that cannot be written is still read.
fn open_for_reading(path: Option<&Path>) -> Result<Store, StoreError> {
    Store::open_for_reading(data_dir(path)?)
}

/// Print `text` for people: sanitised if stdout is a terminal, exact in a pipe.
fn print_text(text: &str) -> std::io::Result<()> {
    crate::sanitize::print(text)
}

/// `tern list`: the saved conversations, newest first, as a table or as JSON.
pub fn list(path: Option<&Path>, limit: usize, as_json: bool) -> anyhow::Result<()> {
    let store = open_for_reading(path)?;
    let limit = if limit == 0 { u64::MAX } else { limit as u64 };
    let rows = store.list(0, limit)?;
    if as_json {
        return print_list_json(&rows);
    }
    if rows.is_empty() {
        print_text("No saved conversations yet. Start one with `tern` or `tern -p \"...\"`.\n")?;
        return Ok(());
    }
    print_table(&rows)
}

/// The conversations as a JSON array, exact.
fn print_list_json(rows: &[ConversationSummary]) -> anyhow::Result<()> {
    let items: Vec<_> = rows
        .iter()
        .map(|r| {
            let c = &r.conversation;
            json!({
                "id": c.id, "title": c.title,
                "created_at": rfc3339(c.created_at), "updated_at": rfc3339(c.updated_at),
                "message_count": r.message_count, "models": r.models,
                "input_tokens": r.total_input_tokens, "output_tokens": r.total_output_tokens,
                "last_model": c.last_model, "branches": r.branches,
            })
        })
        .collect();
    crate::sanitize::print_json(&serde_json::to_string_pretty(&items)?)?;
    Ok(())
}

/// Which of `tern list`'s columns are shown, and how wide the title may be.
struct Table {
    models: bool,
    tokens: bool,
    /// `None` in a pipe: whole titles.
    title_room: Option<usize>,
}

impl Table {
    /// On a terminal `columns` wide the title takes the room that is left (narrow ones drop
    /// the models, then the tokens column); a pipe (`None`) gets every column and whole titles.
    fn for_width(columns: Option<usize>) -> Table {
        let fixed = |models: bool, tokens: bool| {
            8 + 2 + 10 + 2 + 5 + 2 + 15 * usize::from(tokens) + 26 * usize::from(models)
        };
        let room = |models, tokens| columns.map(|w| w.saturating_sub(fixed(models, tokens)));
        let fits = |models, tokens| room(models, tokens).is_none_or(|r| r >= 20);
        let (models, tokens) = if fits(true, true) {
            (true, true)
        } else if fits(false, true) {
            (false, true)
        } else {
            (false, false)
        };
        Table {
            models,
            tokens,
            title_room: room(models, tokens).map(|r| r.max(10)),
        }
    }

    /// One line of the table, its cells already cleaned and fitted.
    fn row(
        &self,
        id: &str,
        updated: &str,
        msgs: &str,
        tokens: &str,
        models: &str,
        title: &str,
    ) -> String {
        let mut line = format!("{id:<8}  {updated:<10}  {msgs:>5}  ");
        if self.tokens {
            line.push_str(&format!("{tokens:>13}  "));
        }
        if self.models {
            // Padded by display width: ids from outside may hold wide characters.
            let pad = 24usize.saturating_sub(crate::render::display_width(models));
            line.push_str(&format!("{models}{}  ", " ".repeat(pad)));
        }
        line.push_str(title);
        line.push('\n');
        line
    }
}

/// The conversations as a table sized to the terminal (whole, in a pipe).
fn print_table(rows: &[ConversationSummary]) -> anyhow::Result<()> {
    let table = Table::for_width(crate::sanitize::stdout_columns());
    let mut out = crate::sanitize::TermText::stdout();
    let tty = out.is_terminal();
    let shown = |text: &str| {
        if tty {
            crate::sanitize::for_terminal(text).replace(['\n', '\t'], " ")
        } else {
            text.to_owned()
        }
    };
    out.push(&table.row("ID", "UPDATED", "MSGS", "TOKENS in/out", "MODELS", "TITLE"));
    let now = now_ms();
    for r in rows {
        let c = &r.conversation;
        let tokens = format!(
            "{}/{}",
            format_tokens(r.total_input_tokens),
            format_tokens(r.total_output_tokens)
        );
        let models = fit(&shown(&r.models.join(",")), 24);
        let title = shown(&c.title);
        let branches = match r.branches {
            0 | 1 => String::new(),
            n => format!("  ({n} branches)"),
        };
        let title = match table.title_room {
            Some(room) => fit(
                &title,
                room.saturating_sub(crate::render::display_width(&branches))
                    .max(10),
            ),
            None => title,
        } + &branches;
        out.push(&table.row(
            short_id(&c.id),
            &relative_time(now, c.updated_at),
            &r.message_count.to_string(),
            &tokens,
            &models,
            &title,
        ));
    }
    out.print()?;
    Ok(())
}

/// The first 8 characters of an id, as the table and the search results show it.
fn short_id(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// `tern show`: the active path as Markdown (a message with alternatives marked `‹n/m›`), or
/// as JSON (one line of messages, the `tern.conversation.v1` shape), or with `tree` the whole
/// tree (see [`Store::tree_text`]). Attached files are named, their bytes never printed (the
/// JSON keeps the references; `tern export` carries the bytes).
pub fn show(path: Option<&Path>, prefix: &str, as_json: bool, tree: bool) -> anyhow::Result<()> {
    let store = open_for_reading(path)?;
    let id = store.resolve(prefix)?;
    if as_json && tree {
        crate::sanitize::print_json(&store.tree_json(&id)?)?;
    } else if as_json {
        crate::sanitize::print_json(&store.export_path_json(&id)?)?;
    } else if tree {
        let mut text = store.tree_text(&id)?;
        // The shell's prompt starts on a line of its own.
        if !text.ends_with('\n') {
            text.push('\n');
        }
        print_text(&text)?;
    } else {
        print_text(&store.export_markdown(&id)?)?;
    }
    Ok(())
}

/// `tern search`: title matches first, then message matches; `limit` caps both together.
pub fn search(path: Option<&Path>, query: &str, limit: usize, as_json: bool) -> anyhow::Result<()> {
    let store = open_for_reading(path)?;
    let titles = store.search_titles(query, limit)?;
    let hits = store.search(query, limit.saturating_sub(titles.len()))?;
    if as_json {
        return print_search_json(&titles, &hits);
    }
    if hits.is_empty() && titles.is_empty() {
        print_text(&format!("No titles or messages match {query:?}.\n"))?;
        return Ok(());
    }
    let now = now_ms();
    let mut out = crate::sanitize::TermText::stdout();
    for t in &titles {
        push_title_hit(&mut out, t, now);
    }
    for h in &hits {
        push_message_hit(&mut out, h, now);
    }
    out.print()?;
    Ok(())
}

/// The matches as one JSON array, titles first, snippets without their highlight marks.
fn print_search_json(titles: &[TitleHit], hits: &[SearchHit]) -> anyhow::Result<()> {
    let title_items = titles.iter().map(|t| {
        json!({
            "match": "title", "conversation_id": t.conversation_id, "title": t.title,
            "message_id": null, "role": null, "model": null, "snippet": t.title,
            "updated_at": rfc3339(t.updated_at), "rank": t.rank,
        })
    });
    let items: Vec<_> = title_items
        .chain(hits.iter().map(|h| {
            let snippet: String = snippet_runs(&h.snippet)
                .into_iter()
                .map(|(t, _)| t)
                .collect();
            json!({
                "match": "message", "conversation_id": h.conversation_id, "title": h.title,
                "message_id": h.message_id, "role": h.role.as_str(), "model": h.model,
                "snippet": snippet, "updated_at": rfc3339(h.updated_at), "rank": h.rank,
            })
        }))
        .collect();
    crate::sanitize::print_json(&serde_json::to_string_pretty(&items)?)?;
    Ok(())
}

/// `ID  highlighted title  (title, when)`.
fn push_title_hit(out: &mut TermText, t: &TitleHit, now: i64) {
    out.push(&format!("{}  ", short_id(&t.conversation_id)));
    push_snippet(out, &t.highlighted, &['\n', '\t']);
    out.push(&format!(
        "  (title, {})\n",
        relative_time(now, t.updated_at)
    ));
}

/// `ID  title  (who, when)`, then the highlighted snippet indented below.
fn push_message_hit(out: &mut TermText, h: &SearchHit, now: i64) {
    let who = match (&h.role, &h.model) {
        (crate::api::Role::User, _) => "you".to_owned(),
        (_, Some(model)) => model.clone(),
        _ => "assistant".to_owned(),
    };
    out.push(&format!(
        "{}  {}  ({who}, {})\n    ",
        short_id(&h.conversation_id),
        h.title.replace(['\n', '\t'], " "),
        relative_time(now, h.updated_at)
    ));
    push_snippet(out, &h.snippet, &['\n']);
    out.push("\n");
}

/// A snippet's runs, the matched ones highlighted, each of `breaks` shown as a space.
fn push_snippet(out: &mut TermText, snippet: &str, breaks: &[char]) {
    for (run, matched) in snippet_runs(snippet) {
        let run = run.replace(breaks, " ");
        if matched {
            out.highlight(&run);
        } else {
            out.push(&run);
        }
    }
}

/// `tern export`: to stdout, or to a file that is never overwritten without `force`. The format
/// comes from `format`, else from the file's extension (`.json`), else markdown.
pub fn export(
    path: Option<&Path>,
    prefix: &str,
    format: Option<crate::cli::ExportFormat>,
    output: Option<&Path>,
    force: bool,
) -> anyhow::Result<()> {
    use crate::cli::ExportFormat;
    let store = open_for_reading(path)?;
    let id = store.resolve(prefix)?;
    let format = format.unwrap_or(match output.and_then(|f| f.extension()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => ExportFormat::Json,
        _ => ExportFormat::Md,
    });
    let text = match format {
        ExportFormat::Md => store.export_markdown(&id)?,
        ExportFormat::Json => store.export_json(&id)? + "\n",
    };
    match output {
        Some(file) => {
            let shown = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
            let mut options = std::fs::OpenOptions::new();
            options.write(true);
            if force {
                options.create(true).truncate(true);
            } else {
                options.create_new(true);
            }
            let written = options
                .open(file)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            match written {
                Ok(()) => {
                    crate::term_eprintln!("tern: wrote {} ({} bytes)", shown.display(), text.len())
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
                    "{} already exists; it was not overwritten (pass --force to replace it)",
                    shown.display()
                ),
                Err(e) => anyhow::bail!("cannot write {}: {e}", shown.display()),
            }
        }
        None if matches!(format, ExportFormat::Json) => {
            crate::sanitize::print_json(text.trim_end())?;
        }
        None => print_text(&text)?,
    }
    Ok(())
}

/// Write `contents` to a new file `stem.ext` in `dir`, or `stem-2.ext`, `stem-3.ext`… when that
/// name is taken: an existing file is never overwritten. Returns the full path written.
pub fn write_new_file(
    dir: &Path,
    stem: &str,
    ext: &str,
    contents: &str,
) -> std::io::Result<std::path::PathBuf> {
    let dir = std::path::absolute(dir)?;
    for n in 1..=1000 {
        let name = match n {
            1 => format!("{stem}.{ext}"),
            n => format!("{stem}-{n}.{ext}"),
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(contents.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{stem}.{ext} and 999 numbered names are taken"),
    ))
}

pub fn import(path: Option<&Path>, file: &Path) -> anyhow::Result<()> {
    let json = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
    };
    let mut store = open(path)?;
    let id = store.import_json(&json)?;
    print_text(&format!("{id}\n"))?;
    Ok(())
}
