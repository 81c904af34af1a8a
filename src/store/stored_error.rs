//! How a failed reply's error is saved: the `error` column of a message holds three lines, the
//! headline, the details joined by " · ", and the advice.
//!
//! It lives beside the store because it is part of the store's format: what an older tern saved
//! must still read back, whoever builds the error (the app from an API failure, `tern -p`).

/// A failure as shown in an error block; also what is saved in `StoredMessage::error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub headline: String,
    pub details: Vec<String>,
    pub advice: String,
}

impl ErrorInfo {
    /// Saved form: headline, details joined by " · ", advice, one per line.
    pub fn to_stored(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.headline,
            self.details.join(" · "),
            self.advice
        )
    }

    /// Read the saved form back; missing lines read as a bare "error" with no details or advice.
    pub fn from_stored(text: &str) -> ErrorInfo {
        let mut lines = text.lines();
        ErrorInfo {
            headline: lines.next().unwrap_or("error").to_owned(),
            details: lines
                .next()
                .map(|l| {
                    l.split(" · ")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            advice: lines.next().unwrap_or_default().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorInfo;

    #[test]
    fn the_saved_form_reads_back_and_keeps_its_three_lines() {
        let info = ErrorInfo {
            headline: "401 Unauthorized".to_owned(),
            details: vec![
                "invalid x-api-key".to_owned(),
                "request-id req_1".to_owned(),
            ],
            advice: "check APIFREE_API_KEY".to_owned(),
        };
        let stored = info.to_stored();
        assert_eq!(
            stored,
            "401 Unauthorized\ninvalid x-api-key · request-id req_1\ncheck APIFREE_API_KEY"
        );
        assert_eq!(ErrorInfo::from_stored(&stored), info);
    }

    #[test]
    fn a_short_or_empty_saved_error_still_reads() {
        let empty = ErrorInfo::from_stored("");
        assert_eq!(empty.headline, "error");
        assert!(empty.details.is_empty() && empty.advice.is_empty());
        let headline_only = ErrorInfo::from_stored("stream cut off\n\n");
        assert_eq!(headline_only.headline, "stream cut off");
        assert!(headline_only.details.is_empty());
    }
}
