//! An incremental Server-Sent Events parser.
//!
//! `chat/completions` replies arrive as SSE over a byte stream cut at arbitrary points by the
//! network: an event, a line, even a UTF-8 character can be split across two chunks. This parser
//! takes bytes as they come and hands out whole events, following the WHATWG rules that matter
//! for chat servers (`data:` lines joined with `\n`, `:` comments, `\r\n`/`\r`/`\n` line ends,
//! a blank line ends an event), with a cap on line length so a server that never sends a newline
//! cannot make us buffer without bound.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, when the server named the event type.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// A line (or an event's data) grew past the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineTooLong {
    pub limit: usize,
}

/// Turns bytes into [`SseEvent`]s; feed with [`SseParser::push`], end with [`SseParser::finish`].
#[derive(Debug)]
pub(crate) struct SseParser {
    max_line: usize,
    /// Bytes of the line being received (without its terminator).
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
}

impl SseParser {
    pub fn new(max_line: usize) -> Self {
        Self {
            max_line,
            line: Vec::new(),
            after_cr: false,
            data: String::new(),
            has_data: false,
            event: None,
        }
    }

    /// Feeds the next bytes; complete events are appended to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), LineTooLong> {
        let mut rest = bytes;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.append(&rest[..pos])?;
            let terminator = rest[pos];
            rest = &rest[pos + 1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out)?;
            // Reuse the allocation for the next line.
            self.line = line;
            self.line.clear();
        }
        self.append(rest)
    }

    /// The stream ended: a last line without terminator and a last event without the closing
    /// blank line are still delivered (servers that close right after `data: [DONE]` do that).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), LineTooLong> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out)?;
        }
        self.dispatch(out);
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), LineTooLong> {
        if self.line.len() + bytes.len() > self.max_line {
            return Err(LineTooLong {
                limit: self.max_line,
            });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), LineTooLong> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
                if self.data.len() > self.max_line {
                    return Err(LineTooLong {
                        limit: self.max_line,
                    });
                }
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            // `id`, `retry` and unknown fields mean nothing to a chat client.
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        if data.is_empty() {
            // The spec drops events whose data is empty.
            return;
        }
        out.push(SseEvent { event, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new(1024);
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk, &mut out).unwrap();
        }
        parser.finish(&mut out).unwrap();
        out
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn data_lines_make_events() {
        let events = parse_chunks(&[b"data: one\n\ndata: two\n\n"]);
        assert_eq!(data(&events), ["one", "two"]);
        assert_eq!(events[0].event, None);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let events = parse_chunks(&[b"data: {\"a\":\ndata: 1}\n\n"]);
        assert_eq!(data(&events), ["{\"a\":\n1}"]);
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        let events = parse_chunks(&[b": keep-alive\nid: 7\nretry: 10\nfoo\ndata: x\n\n: bye\n\n"]);
        assert_eq!(data(&events), ["x"]);
    }

    #[test]
    fn every_line_ending_is_accepted() {
        let events = parse_chunks(&[b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"]);
        assert_eq!(data(&events), ["a", "b", "c"]);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let events = parse_chunks(&[b"data: a\r", b"\n\r", b"\ndata: b\r", b"\r"]);
        assert_eq!(data(&events), ["a", "b"]);
    }

    #[test]
    fn events_split_anywhere_are_reassembled() {
        let body = "data: {\"x\":\"é\"}\n\nevent: error\ndata: oops\n\ndata: [DONE]\n\n";
        let whole = parse_chunks(&[body.as_bytes()]);
        for cut in 0..=body.len() {
            let (a, b) = body.as_bytes().split_at(cut);
            assert_eq!(parse_chunks(&[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = body.as_bytes().chunks(1).collect();
        assert_eq!(parse_chunks(&bytes), whole);
        assert_eq!(whole[1].event.as_deref(), Some("error"));
        assert_eq!(data(&whole), ["{\"x\":\"é\"}", "oops", "[DONE]"]);
    }

    #[test]
    fn data_without_space_and_empty_data() {
        let events = parse_chunks(&[b"data:x\n\ndata:\n\ndata:  two spaces\n\n"]);
        assert_eq!(data(&events), ["x", " two spaces"]);
    }

    #[test]
    fn a_last_event_without_blank_line_is_delivered() {
        let events = parse_chunks(&[b"data: a\n\ndata: [DONE]"]);
        assert_eq!(data(&events), ["a", "[DONE]"]);
    }

    #[test]
    fn an_event_name_does_not_leak_into_the_next_event() {
        let events = parse_chunks(&[b"event: ping\n\ndata: a\n\n"]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, None);
    }

    #[test]
    fn long_lines_are_refused() {
        let mut parser = SseParser::new(8);
        let mut out = Vec::new();
        assert!(parser.push(b"data: 12", &mut out).is_ok());
        assert_eq!(parser.push(b"3", &mut out), Err(LineTooLong { limit: 8 }));
        // Many short data lines count too.
        let mut parser = SseParser::new(8);
        let result = parser.push(b"data: 12345\ndata: 12345\n", &mut out);
        assert_eq!(result, Err(LineTooLong { limit: 8 }));
    }
}
