//! `tern -p`: one prompt, one reply on stdout, errors on stderr, a non-zero exit on failure.
//!
//! The reply is written and flushed per delta. When stdout is a terminal, model text goes through
//! [`TermStream`] (see [`crate::sanitize`]) so escape sequences in a reply cannot drive the
//! user's terminal and hidden characters show; when it is a pipe, bytes pass unchanged (the
//! reader asked for the model's exact output).

use std::io::{IsTerminal, Read};

use crate::api::{
    ApiError, Client, ContentBlock, Delta, Message, MessagesRequest, RequestMessage, RetryNotice,
    StreamEvent,
};
use crate::config::Config;
use crate::sanitize::TermStream;

/// Join the `-p` words with piped stdin (stdin first, then the instruction).
pub fn gather_prompt(words: &str) -> std::io::Result<String> {
    let mut piped = String::new();
    if !std::io::stdin().is_terminal() {
        std::io::stdin().read_to_string(&mut piped)?;
    }
    let piped = piped.trim_end();
    let words = words.trim();
    Ok(match (piped.is_empty(), words.is_empty()) {
        (true, _) => words.to_owned(),
        (false, true) => piped.to_owned(),
        (false, false) => format!("{piped}\n\n{words}"),
    })
}

pub fn build_request(config: &Config, prompt: &str) -> MessagesRequest {
    MessagesRequest {
        model: config.model.clone(),
        messages: vec![RequestMessage::user(prompt)],
        system: config
            .system
            .clone()
            .map(crate::api::types::SystemPrompt::Text),
        max_tokens: config.max_tokens,
        temperature: config.temperature,
        top_p: config.top_p,
        ..Default::default()
    }
}

/// Writes reply text to stdout (sanitised when stdout is a terminal) and ends it with a newline.
struct Output {
    out: TermStream,
    ends_with_newline: bool,
    wrote: bool,
}

impl Output {
    fn new() -> Self {
        Output {
            out: TermStream::stdout(),
            ends_with_newline: true,
            wrote: false,
        }
    }

    fn write(&mut self, text: &str) -> std::io::Result<()> {
        let written = self.out.write(text)?;
        if !written.is_empty() {
            self.ends_with_newline = written.ends_with('\n');
            self.wrote = true;
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.wrote && !self.ends_with_newline {
            self.write("\n")?;
        }
        Ok(())
    }
}

/// Why a one-shot run failed.
#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("cannot write the reply: {0}")]
    Io(#[from] std::io::Error),
}

/// The outcome: the message (complete, or partial on error) and the error if any.
pub struct Outcome {
    pub message: Message,
    pub error: Option<OneShotError>,
}

fn report_retry(notice: &RetryNotice) {
    crate::term_eprintln!("tern: {notice}");
}

/// How often a streaming reply is handed to `on_progress` (to be saved).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Send the request and print the reply as it arrives; `on_progress` receives the partial reply
/// at most once a second while it streams (the caller saves it).
pub async fn run(
    client: &Client,
    request: &MessagesRequest,
    stream: bool,
    on_progress: &mut dyn FnMut(&Message),
) -> Outcome {
    let mut output = Output::new();
    let mut on_retry = report_retry;
    if !stream {
        return match client.create(request, &mut on_retry).await {
            Ok(message) => {
                let printed = output.write(&message.text()).and_then(|_| output.finish());
                Outcome {
                    error: printed.err().map(OneShotError::from),
                    message,
                }
            }
            Err(e) => Outcome {
                message: Message::default(),
                error: Some(e.into()),
            },
        };
    }
    let mut reply = match client.stream(request, &mut on_retry).await {
        Ok(reply) => reply,
        Err(e) => {
            return Outcome {
                message: Message::default(),
                error: Some(e.into()),
            };
        }
    };
    let mut error = None;
    let mut text_blocks_seen = 0usize;
    let mut last_progress = std::time::Instant::now();
    while let Some(event) = reply.next().await {
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = std::time::Instant::now();
            on_progress(&reply.snapshot());
        }
        let written = match event {
            Ok(StreamEvent::BlockStart {
                block: ContentBlock::Text { .. },
                ..
            }) => {
                text_blocks_seen += 1;
                // Separate consecutive text blocks (e.g. around a tool call) by a blank line.
                if text_blocks_seen > 1 && output.wrote {
                    output.write("\n\n")
                } else {
                    Ok(())
                }
            }
            Ok(StreamEvent::BlockDelta {
                delta: Delta::Text(text),
                ..
            }) => output.write(&text),
            Ok(_) => Ok(()),
            Err(e) => {
                error = Some(e.into());
                break;
            }
        };
        if let Err(e) = written {
            error = Some(e.into());
            break;
        }
    }
    if let Err(e) = output.finish() {
        error.get_or_insert(e.into());
    }
    Outcome {
        message: reply.snapshot(),
        error,
    }
}
