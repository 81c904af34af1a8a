//! The command line, parsed with clap.
//!
//! Flags parse anywhere, also after the prompt words of `-p`, and `--` ends them; so the prompt
//! is `-p`'s optional value plus the loose positional words. When `-p` is given, subcommands are
//! switched off for that parse, so a prompt word such as `list` stays a word.

use std::path::PathBuf;

use std::ffi::OsString;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config::{Effort, Overrides, Thinking};

const AFTER_HELP: &str = "\
Environment:
  APIFREE_API_KEY    API key (sent as Authorization: Bearer, or x-api-key with auth = \"x-api-key\")
  APIFREE_BASE_URL   API base URL (default https://api.apifree.ai)
  TERN_MODEL         default model
  TERN_THEME         theme name (dark, light, or a file in the themes dir)

Config file: $XDG_CONFIG_HOME/tern/config.toml (see README). Saved conversations live in
$XDG_DATA_HOME/tern/. Precedence: flag > environment > config file > default.

Examples:
  tern                                      chat in the full-screen app
  tern -p \"explain SSE in one line\"          one reply to stdout
  git diff | tern -p \"review this\"           piped text is sent along with the prompt
  tern -m claude-opus-4.6 -p hi              pick the model for this call
  tern -p explain this -m claude-haiku-4.5   flags may follow the prompt words
  tern -p -- -v means what?                  `--` ends the flags
  tern -a shot.png -p \"what is wrong here?\"  attach an image (or a PDF, a text file)
  tern --thinking adaptive -p \"prove it\"     thinking on (a budget on models without adaptive)";

#[derive(Debug, Parser)]
#[command(name = "tern", version, about = "A fast terminal chat client for Anthropic Messages-compatible APIs", after_help = AFTER_HELP)]
pub struct Cli {
    /// One shot: send PROMPT (plus piped stdin), stream the reply to stdout, exit
    #[arg(short = 'p', long = "print", value_name = "PROMPT", num_args = 0..=1)]
    pub print: Option<Option<String>>,

    /// Open the most recent conversation
    #[arg(short = 'c', long = "continue", conflicts_with = "resume")]
    pub continue_last: bool,

    /// Open a saved conversation by id (a unique prefix is enough)
    #[arg(long, value_name = "ID")]
    pub resume: Option<String>,

    #[command(flatten)]
    pub request: RequestArgs,

    /// Print the reply only when it is complete (no streaming)
    #[arg(long)]
    pub no_stream: bool,

    /// Do not save this exchange (with -p)
    #[arg(long)]
    pub no_save: bool,

    /// With -p: attach FILE to the prompt (an image, a PDF or a text file); repeatable. `-`
    /// reads an image or PDF from stdin
    #[arg(short = 'a', long = "attach", value_name = "FILE")]
    pub attach: Vec<String>,

    /// With -p: run this MCP tool when the model calls it (`server__tool`, or `server__*` for
    /// every tool of a server); repeatable. Other calls are refused, unless the server has
    /// approve = "always" (or lists the tool)
    #[arg(long = "allow-tool", value_name = "PATTERN")]
    pub allow_tool: Vec<String>,

    /// Send the -p prompt to 2–4 models at once (comma-separated ids); each reply is saved as
    /// an alternative of the others
    #[arg(long, value_name = "MODEL,MODEL", value_parser = compare_models, conflicts_with = "model")]
    pub compare: Option<CompareModels>,

    /// With --compare: the replies side by side in columns (when stdout is a terminal)
    #[arg(long, requires = "compare", conflicts_with = "json")]
    pub columns: bool,

    /// With --compare: one JSON object per model, one a line, as each finishes
    #[arg(long, requires = "compare")]
    pub json: bool,

    /// Read configuration from FILE instead of the default config.toml
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// More words of the prompt (with -p); flags may come before, between or after them, and
    /// `--` ends the flags (`tern -p -- -literal words`)
    #[arg(value_name = "PROMPT")]
    pub rest: Vec<String>,

    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

#[derive(Debug, Args, Default, Clone)]
pub struct RequestArgs {
    /// Model id (e.g. claude-sonnet-4.6; `tern models` lists them)
    #[arg(short = 'm', long, value_name = "ID")]
    pub model: Option<String>,
    /// System prompt
    #[arg(short = 's', long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Maximum tokens in the reply (default 4096)
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0–1 (omitted unless set)
    #[arg(long, value_name = "T", value_parser = sampling_value, allow_negative_numbers = true)]
    pub temperature: Option<f64>,
    /// Nucleus sampling, 0–1 (omitted unless set)
    #[arg(long, value_name = "P", value_parser = sampling_value, allow_negative_numbers = true)]
    pub top_p: Option<f64>,
    /// Thinking: off, adaptive (4.6 models), or a budget of N tokens (1024 ≤ N < max tokens)
    #[arg(long, value_name = "off|adaptive|N", value_parser = clap::value_parser!(Thinking))]
    pub thinking: Option<Thinking>,
    /// Effort: low, medium, high or max (models that take it; sent as output_config.effort)
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(Effort))]
    pub effort: Option<Effort>,
    /// Stop when the reply produces SEQ (repeat for several: --stop '###' --stop END)
    #[arg(long = "stop", value_name = "SEQ")]
    pub stop: Vec<String>,
    /// Sample only from the K likeliest tokens (omitted unless set; not with thinking)
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub top_k: Option<u32>,
}

/// A subcommand of the command line (`tern list`, `tern show ID`…); the review commands run
/// them (`src/review.rs`).
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// List saved conversations, newest first
    List {
        #[arg(long)]
        json: bool,
        /// How many to show (0: all)
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: usize,
    },
    /// Print one saved conversation (its active path)
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        /// Every branch: the whole tree, indented where it forks (with --json: the tree export)
        #[arg(long)]
        tree: bool,
    },
    /// Full-text search over saved titles and messages
    Search {
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        #[arg(long)]
        json: bool,
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: usize,
    },
    /// Export a conversation as markdown or JSON
    Export {
        id: String,
        /// The format (default: from the extension of FILE, `.json` or else markdown)
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// Write to FILE instead of stdout (an existing FILE is kept unless --force)
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite FILE if it exists
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Import a conversation written by `tern export --format json`
    Import {
        /// The JSON file (`-` for stdin)
        file: PathBuf,
    },
    /// List available models (GET /v1/models when the endpoint has it)
    Models {
        #[arg(long)]
        json: bool,
    },
    /// MCP servers: list them with their tools, or call a tool by hand
    Mcp {
        #[command(subcommand)]
        command: crate::mcp::cli::McpCommand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
}

impl Cli {
    /// Parse the process's arguments, exiting with clap's message on an error.
    pub fn from_env() -> Cli {
        Cli::try_parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parse `args` (the first is the program name). With `-p` every word is part of the
    /// prompt, so `tern -p explain list files` cannot turn `list` into the subcommand; without
    /// it, the first word may name a subcommand as usual.
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let mut command = Cli::command();
        if asks_for_print(&args) {
            command = command.args_conflicts_with_subcommands(true);
        }
        let mut matches = command.try_get_matches_from(args)?;
        Cli::from_arg_matches_mut(&mut matches)
    }

    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            model: self.request.model.clone(),
            system: self.request.system.clone(),
            max_tokens: self.request.max_tokens,
            temperature: self.request.temperature,
            top_p: self.request.top_p,
            thinking: self.request.thinking,
            effort: self.request.effort,
            stop_sequences: (!self.request.stop.is_empty()).then(|| self.request.stop.clone()),
            top_k: self.request.top_k,
        }
    }

    /// The prompt words given with `-p`, joined.
    pub fn prompt(&self) -> Option<String> {
        let first = self.print.as_ref()?.clone();
        let words: Vec<String> = first.into_iter().chain(self.rest.iter().cloned()).collect();
        Some(words.join(" "))
    }
}

/// The models of `--compare`: 2 to 4 distinct ids, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareModels(pub Vec<String>);

/// How many models `--compare` takes.
pub const COMPARE_RANGE: std::ops::RangeInclusive<usize> = 2..=4;

/// `--compare`: comma-separated model ids, 2 to 4 of them, none twice, none empty.
fn compare_models(text: &str) -> Result<CompareModels, String> {
    let ids: Vec<String> = text.split(',').map(|id| id.trim().to_owned()).collect();
    if ids.iter().any(String::is_empty) {
        return Err("expected model ids separated by commas, with none empty \
                    (e.g. claude-haiku-4.5,claude-opus-4.6)"
            .to_owned());
    }
    if !COMPARE_RANGE.contains(&ids.len()) {
        return Err(format!(
            "expected {} to {} model ids separated by commas, got {}",
            COMPARE_RANGE.start(),
            COMPARE_RANGE.end(),
            ids.len()
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(format!("{id} is listed twice; compare distinct models"));
        }
    }
    Ok(CompareModels(ids))
}

/// `--temperature` and `--top-p`: a number in the API's range.
fn sampling_value(text: &str) -> Result<f64, String> {
    let range = crate::config::SAMPLING_RANGE;
    match text.trim().parse::<f64>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(format!(
            "expected a number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

/// The subcommands' names, for messages that list them.
pub fn command_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// Whether `-p`/`--print` appears among the flags (before any `--`), alone or in a cluster
/// such as `-cp`.
fn asks_for_print(args: &[OsString]) -> bool {
    for arg in args.iter().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        if arg == "--" {
            return false;
        }
        if arg == "--print" || arg.starts_with("--print=") {
            return true;
        }
        if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.starts_with('-')) {
            for c in shorts.chars() {
                match c {
                    'p' => return true,
                    // Short options that take a value: the rest of the cluster is that value.
                    'm' | 's' | 'n' | 'o' => break,
                    _ => {}
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn print_forms() {
        let cli = Cli::try_parse_args(["tern", "-p", "hello", "-m", "x"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("hello"));
        assert_eq!(cli.request.model.as_deref(), Some("x"));
        let cli = Cli::try_parse_args(["tern", "-m", "x", "-p"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some(""));
        let cli = Cli::try_parse_args(["tern", "-p", "two", "words"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("two words"));
        let cli = Cli::try_parse_args(["tern"]).unwrap();
        assert_eq!(cli.prompt(), None);
        let cli = Cli::try_parse_args(["tern", "-p", "-m", "x", "quoted prompt"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("quoted prompt"));
    }

    #[test]
    fn flags_parse_after_prompt_words() {
        let cli = Cli::try_parse_args(["tern", "-p", "explain", "this", "-m", "claude-haiku-4.5"])
            .unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("explain this"));
        assert_eq!(cli.request.model.as_deref(), Some("claude-haiku-4.5"));
        let cli = Cli::try_parse_args(["tern", "-p", "a", "b", "c", "--no-save"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("a b c"));
        assert!(cli.no_save);
        let cli = Cli::try_parse_args(["tern", "-p", "a", "--temperature", "0.5", "b"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("a b"));
        assert_eq!(cli.request.temperature, Some(0.5));
    }

    #[test]
    fn double_dash_ends_flags() {
        let cli =
            Cli::try_parse_args(["tern", "-p", "--", "-literal", "words", "-m", "x"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("-literal words -m x"));
        assert_eq!(cli.request.model, None);
        let cli = Cli::try_parse_args(["tern", "-p", "say", "--", "--no-save"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("say --no-save"));
        assert!(!cli.no_save);
    }

    #[test]
    fn command_names_are_prompt_words_after_p() {
        let cli = Cli::try_parse_args(["tern", "-p", "explain", "list", "files"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("explain list files"));
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_args(["tern", "-m", "x", "--print", "show", "me"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("show me"));
        let cli = Cli::try_parse_args(["tern", "-cp", "search", "for", "it"]).unwrap();
        assert_eq!(cli.prompt().as_deref(), Some("search for it"));
        assert!(cli.continue_last);
        // `-sp` is `-s` with the value "p", not a print flag.
        let cli = Cli::try_parse_args(["tern", "-sp", "list"]).unwrap();
        assert_eq!(cli.request.system.as_deref(), Some("p"));
        assert!(matches!(cli.command, Some(CliCommand::List { .. })));
    }

    #[test]
    fn sampling_flags_take_zero_to_one() {
        for flag in ["--temperature", "--top-p"] {
            for bad in ["1.5", "-0.1", "warm", "NaN"] {
                let err = Cli::try_parse_args(["tern", flag, bad, "-p", "x"]).unwrap_err();
                assert!(
                    err.to_string().contains("from 0 to 1"),
                    "{flag} {bad}: {err}"
                );
            }
            for good in ["0", "0.7", "1"] {
                assert!(Cli::try_parse_args(["tern", flag, good, "-p", "x"]).is_ok());
            }
        }
    }

    #[test]
    fn request_flags_parse() {
        let cli = Cli::try_parse_args([
            "tern",
            "-p",
            "x",
            "--thinking",
            "2048",
            "--effort",
            "low",
            "--stop",
            "###",
            "--stop",
            "END",
            "--top-k",
            "5",
        ])
        .unwrap();
        let o = cli.overrides();
        assert_eq!(o.thinking, Some(Thinking::Budget(2048)));
        assert_eq!(o.effort, Some(Effort::Low));
        assert_eq!(o.stop_sequences, Some(vec!["###".into(), "END".into()]));
        assert_eq!(o.top_k, Some(5));
        assert_eq!(cli.prompt().as_deref(), Some("x"));
        let cli = Cli::try_parse_args(["tern", "-p", "x", "--thinking", "adaptive"]).unwrap();
        assert_eq!(cli.request.thinking, Some(Thinking::Adaptive));
        assert_eq!(cli.overrides().stop_sequences, None);
        for bad in [
            &["--thinking", "on"][..],
            &["--thinking", "100"],
            &["--effort", "huge"],
            &["--top-k", "0"],
        ] {
            let mut args = vec!["tern", "-p", "x"];
            args.extend_from_slice(bad);
            assert!(Cli::try_parse_args(args).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn compare_takes_two_to_four_distinct_models() {
        let cli = Cli::try_parse_args(["tern", "-p", "x", "--compare", "a, b,c"]).unwrap();
        assert_eq!(
            cli.compare,
            Some(CompareModels(vec!["a".into(), "b".into(), "c".into()]))
        );
        for (bad, says) in [
            ("a", "2 to 4"),
            ("a,b,c,d,e", "got 5"),
            ("a,a", "listed twice"),
            ("a,,b", "none empty"),
        ] {
            let err = Cli::try_parse_args(["tern", "-p", "x", "--compare", bad]).unwrap_err();
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
        let err =
            Cli::try_parse_args(["tern", "-p", "x", "--compare", "a,b", "-m", "c"]).unwrap_err();
        assert!(err.to_string().contains("cannot be used with"), "{err}");
        for alone in ["--columns", "--json"] {
            assert!(
                Cli::try_parse_args(["tern", "-p", "x", alone]).is_err(),
                "{alone}"
            );
        }
        assert!(
            Cli::try_parse_args(["tern", "-p", "x", "--compare", "a,b", "--columns", "--json"])
                .is_err()
        );
    }

    #[test]
    fn subcommands_still_parse() {
        let cli = Cli::try_parse_args(["tern", "list", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(CliCommand::List { json: true, .. })
        ));
        let cli = Cli::try_parse_args(["tern", "search", "two", "words", "-n", "3"]).unwrap();
        match cli.command {
            Some(CliCommand::Search { query, limit, .. }) => {
                assert_eq!((query.join(" "), limit), ("two words".to_owned(), 3));
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_args(["tern", "--config", "c.toml", "models"]).unwrap();
        assert!(matches!(cli.command, Some(CliCommand::Models { .. })));
    }
}
