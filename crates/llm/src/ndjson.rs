//! Splitting a byte stream into NDJSON lines.
//!
//! Ollama's native `/api/chat` streams one JSON object per line, and the network cuts those
//! lines anywhere. This keeps the unfinished tail between chunks, skips blank lines, and caps
//! the line length so a server that never sends a newline cannot make us buffer without bound.

use crate::sse::LineTooLong;

/// Turns bytes into non-blank lines (without their `\n` / `\r\n`).
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max_line: usize,
    line: Vec<u8>,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> Self {
        Self {
            max_line,
            line: Vec::new(),
        }
    }

    /// Feeds the next bytes; complete non-blank lines are appended to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), LineTooLong> {
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.append(&rest[..pos])?;
            rest = &rest[pos + 1..];
            self.line_done(out);
        }
        self.append(rest)
    }

    /// The stream ended: a last line without `\n` is still delivered.
    pub fn finish(&mut self, out: &mut Vec<String>) {
        self.line_done(out);
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

    fn line_done(&mut self, out: &mut Vec<String>) {
        let text = String::from_utf8_lossy(&self.line);
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            out.push(trimmed.to_owned());
        }
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::new(64);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut out).unwrap();
        }
        splitter.finish(&mut out);
        out
    }

    #[test]
    fn lines_split_anywhere_are_reassembled() {
        let body = "{\"a\":\"ü\"}\r\n\n  \n{\"b\":2}\n{\"c\":3}";
        let whole = split(&[body.as_bytes()]);
        assert_eq!(whole, ["{\"a\":\"ü\"}", "{\"b\":2}", "{\"c\":3}"]);
        for cut in 0..=body.len() {
            let (a, b) = body.as_bytes().split_at(cut);
            assert_eq!(split(&[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = body.as_bytes().chunks(1).collect();
        assert_eq!(split(&bytes), whole);
    }

    #[test]
    fn long_lines_are_refused() {
        let mut splitter = LineSplitter::new(4);
        let mut out = Vec::new();
        assert!(splitter.push(b"1234\n12", &mut out).is_ok());
        assert_eq!(
            splitter.push(b"345", &mut out),
            Err(LineTooLong { limit: 4 })
        );
    }
}
