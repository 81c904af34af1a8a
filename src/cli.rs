//! The command line (DESIGN.md §3), parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Overrides;

const AFTER_HELP: &str = "\
Environment:
  APIFREE_API_KEY    API key (sent as Authorization: Bearer)
  APIFREE_BASE_URL   API base URL (default https://api.apifree.ai)
  TERN_MODEL         default model
  TERN_THEME         theme name (dark, light, or a file in the themes dir)

Config file: $XDG_CONFIG_HOME/tern/config.toml (see README). Saved conversations live in
$XDG_DATA_HOME/tern/. Precedence: flag > environment > config file > default.

Examples:
  tern                                   chat in the full-screen app
  tern -p \"explain SSE in one line\"       one reply to stdout
  git diff | tern -p \"review this\"        piped text is sent along with the prompt
  tern -m claude-opus-4.6 -p hi           pick the model for this call";

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

    /// Read configuration from FILE instead of the default config.toml
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// More words of the prompt (with -p)
    #[arg(value_name = "PROMPT", trailing_var_arg = true)]
    pub rest: Vec<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
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
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, 0–1 (omitted unless set)
    #[arg(long, value_name = "P")]
    pub top_p: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List saved conversations, newest first
    List {
        #[arg(long)]
        json: bool,
        /// How many to show (0: all)
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: usize,
    },
    /// Print one saved conversation
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over saved messages
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            model: self.request.model.clone(),
            system: self.request.system.clone(),
            max_tokens: self.request.max_tokens,
            temperature: self.request.temperature,
            top_p: self.request.top_p,
        }
    }

    /// The prompt words given with `-p`, joined.
    pub fn prompt(&self) -> Option<String> {
        let first = self.print.as_ref()?.clone();
        let words: Vec<String> = first.into_iter().chain(self.rest.iter().cloned()).collect();
        Some(words.join(" "))
    }
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
        let cli = Cli::parse_from(["tern", "-p", "hello", "-m", "x"]);
        assert_eq!(cli.prompt().as_deref(), Some("hello"));
        assert_eq!(cli.request.model.as_deref(), Some("x"));
        let cli = Cli::parse_from(["tern", "-m", "x", "-p"]);
        assert_eq!(cli.prompt().as_deref(), Some(""));
        let cli = Cli::parse_from(["tern", "-p", "two", "words"]);
        assert_eq!(cli.prompt().as_deref(), Some("two words"));
        let cli = Cli::parse_from(["tern"]);
        assert_eq!(cli.prompt(), None);
    }
}
