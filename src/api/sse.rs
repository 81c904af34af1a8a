//! Server-sent events framing (WHATWG event-stream rules) over raw bytes.
//!
//! Hand-written rather than `eventsource-stream` because the hot path wants no per-event
//! allocation: the decoder hands out borrowed `(event name, data)` slices, and bytes are scanned
//! once. It splits correctly on any chunk boundary, including a CRLF split between two chunks,
//! and follows the spec: LF, CRLF or CR end a line; `:` lines are comments; one space after the
//! colon is stripped; several `data:` lines join with `\n`; a blank line dispatches; an
//! unterminated trailing event is not dispatched by `feed`, only by [`SseDecoder::finish`] at a
//! clean end of the body, whose caller decides whether it is whole.

/// Incremental SSE decoder. Feed it chunks as they arrive.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of an incomplete line carried over from the previous chunk.
    partial: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF in the next chunk belongs to it.
    skip_lf: bool,
    data: Vec<u8>,
    has_data: bool,
    event: Vec<u8>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode `chunk`, calling `on_event(event_name, data)` for each dispatched event.
    /// `event_name` is `None` when the event had no `event:` line.
    pub fn feed(&mut self, mut chunk: &[u8], on_event: &mut dyn FnMut(Option<&str>, &[u8])) {
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while !chunk.is_empty() {
            let Some(end) = memchr::memchr2(b'\n', b'\r', chunk) else {
                self.partial.extend_from_slice(chunk);
                return;
            };
            let terminator_len = if chunk[end] == b'\r' {
                match chunk.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => {
                        self.skip_lf = true;
                        1
                    }
                }
            } else {
                1
            };
            if self.partial.is_empty() {
                self.line(&chunk[..end], on_event);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&chunk[..end]);
                self.line(&line, on_event);
                line.clear();
                self.partial = line;
            }
            chunk = &chunk[end + terminator_len..];
        }
    }

    /// The body ended cleanly: the event still being built (its last line or blank line
    /// missing) is dispatched.
    pub fn finish(&mut self, on_event: &mut dyn FnMut(Option<&str>, &[u8])) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, on_event);
        }
        self.line(b"", on_event);
    }

    fn line(&mut self, line: &[u8], on_event: &mut dyn FnMut(Option<&str>, &[u8])) {
        if line.is_empty() {
            if self.has_data {
                let name = std::str::from_utf8(&self.event)
                    .ok()
                    .filter(|s| !s.is_empty());
                on_event(name, &self.data);
            }
            self.data.clear();
            self.event.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_chunks(chunks: &[&[u8]]) -> Vec<(Option<String>, String)> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut |name, data| {
                out.push((
                    name.map(str::to_owned),
                    String::from_utf8_lossy(data).into_owned(),
                ))
            });
        }
        out
    }

    fn ev(name: Option<&str>, data: &str) -> (Option<String>, String) {
        (name.map(str::to_owned), data.to_owned())
    }

    #[test]
    fn basic_events_and_line_endings() {
        for sep in ["\n", "\r\n", "\r"] {
            let text = format!(
                "event: a{sep}data: 1{sep}{sep}: comment{sep}data:2{sep}data:  3{sep}{sep}event:x{sep}data{sep}{sep}"
            );
            assert_eq!(
                decode_chunks(&[text.as_bytes()]),
                vec![ev(Some("a"), "1"), ev(None, "2\n 3"), ev(Some("x"), "")],
                "separator {sep:?}"
            );
        }
    }

    #[test]
    fn unterminated_trailing_event_is_not_dispatched() {
        assert_eq!(
            decode_chunks(&[b"data: a\n\ndata: b\n"]),
            vec![ev(None, "a")]
        );
    }

    #[test]
    fn finish_dispatches_the_unterminated_event() {
        for tail in ["data: b\n", "data: b"] {
            let mut decoder = SseDecoder::new();
            let mut out = Vec::new();
            let mut push = |name: Option<&str>, data: &[u8]| {
                out.push((
                    name.map(str::to_owned),
                    String::from_utf8_lossy(data).into_owned(),
                ))
            };
            decoder.feed(format!("data: a\n\n{tail}").as_bytes(), &mut push);
            decoder.finish(&mut push);
            assert_eq!(out, vec![ev(None, "a"), ev(None, "b")], "{tail:?}");
        }
    }

    #[test]
    fn event_name_without_data_is_not_dispatched_and_resets() {
        assert_eq!(
            decode_chunks(&[b"event: lonely\n\ndata: x\n\n"]),
            vec![ev(None, "x")]
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        assert_eq!(
            decode_chunks(&[b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]),
            vec![ev(None, "a"), ev(None, "b")]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let text = b"event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n: ping\rdata: a\rdata: b\r\r\ndata: \xe4\xb8\xad\n\n";
        let whole = decode_chunks(&[text]);
        assert_eq!(whole.len(), 3);
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(
                    decode_chunks(&[&text[..i], &text[i..j], &text[j..]]),
                    whole,
                    "split at {i},{j}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), split in 0usize..512) {
            let split = split.min(bytes.len());
            let _ = decode_chunks(&[&bytes[..split], &bytes[split..]]);
        }

        #[test]
        fn chunking_does_not_change_events(
            lines in proptest::collection::vec("(data|event|id|:c|x)?:? ?[a-z{}\" ]{0,8}", 0..20),
            seps in proptest::collection::vec(prop_oneof![Just("\n"), Just("\r\n"), Just("\r"), Just("\n\n")], 20),
            cuts in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let mut text = String::new();
            for (i, line) in lines.iter().enumerate() {
                text.push_str(line);
                text.push_str(seps[i % seps.len()]);
            }
            let bytes = text.as_bytes();
            let whole = decode_chunks(&[bytes]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for cut in cuts {
                chunks.push(&bytes[last..cut]);
                last = cut;
            }
            chunks.push(&bytes[last..]);
            prop_assert_eq!(decode_chunks(&chunks), whole);
        }
    }
}
