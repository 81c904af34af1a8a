//! Text formatting shared by the review commands and the view: token counts, times, widths.
//!
//! Both `tern list` and the app show the same figures the same way, so the helpers live here,
//! below both, rather than in one of them (which made `review` and `ui` import each other).
//! Everything here is a pure function of its arguments: no clock, no terminal.

use crate::render::wrap::display_width;

/// `12345` → `12.3k`.
pub fn format_tokens(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1_000.0),
        _ => format!("{:.2}M", n as f64 / 1_000_000.0),
    }
}

/// `3m ago`, `2h ago`, `yesterday`, `5d ago`, then the date.
pub fn relative_time(now_ms: i64, then_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        86_400..172_800 => "yesterday".into(),
        172_800..2_592_000 => format!("{}d ago", secs / 86_400),
        _ => time::OffsetDateTime::from_unix_timestamp(then_ms / 1000)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!("[year]-[month]-[day]"))
                    .ok()
            })
            .unwrap_or_default(),
    }
}

/// Milliseconds since the epoch as an RFC 3339 UTC timestamp (empty when out of range).
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Cut `text` to `width` display columns, with an ellipsis when cut.
pub fn fit(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    // Never half a `⟨U+202E⟩` marker: cut before it instead.
    if let Some(open) = out.rfind('⟨')
        && out[open..].find('⟩').is_none()
    {
        out.truncate(open);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_never_cuts_a_hidden_character_marker_in_half() {
        assert_eq!(fit("evil⟨U+202E⟩txt.exe", 8), "evil…");
        assert_eq!(fit("ab⟨U+202E⟩cdefgh", 13), "ab⟨U+202E⟩cd…");
        assert_eq!(fit("short", 8), "short");
    }

    #[test]
    fn tokens_are_shortened_by_magnitude() {
        assert_eq!(format_tokens(999), "999");
        assert_eq!(format_tokens(12_345), "12.3k");
        assert_eq!(format_tokens(2_500_000), "2.50M");
    }

    #[test]
    fn relative_times_end_in_a_date() {
        let day = 86_400_000;
        let now = 40 * day;
        assert_eq!(relative_time(now, now - 59_000), "just now");
        assert_eq!(relative_time(now, now - 3 * 60_000), "3m ago");
        assert_eq!(relative_time(now, now - 2 * 3_600_000), "2h ago");
        assert_eq!(relative_time(now, now - day), "yesterday");
        assert_eq!(relative_time(now, now - 5 * day), "5d ago");
        assert_eq!(relative_time(now, 0), "1970-01-01");
        // A clock that went backwards reads as now, not as the future.
        assert_eq!(relative_time(now, now + 10_000), "just now");
    }

    #[test]
    fn rfc3339_keeps_milliseconds() {
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
    }

    #[test]
    fn fit_cuts_by_display_width() {
        assert_eq!(fit("short", 5), "short");
        assert_eq!(fit("longer text", 6), "longe…");
        // Each ideograph is two columns: two of them and the ellipsis fill five.
        assert_eq!(fit("漢字漢字", 5), "漢字…");
    }
}
