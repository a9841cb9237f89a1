//! Separating `<think>…</think>` from answer text.
//!
//! Servers that do not parse reasoning themselves (llama.cpp without a reasoning format, many
//! OpenAI-compatible proxies) pass a reasoning model's `<think>` block through as ordinary
//! content. The user should see it apart from the answer and it must never be sent back, so
//! the content stream is split here, including when a tag is cut across two deltas.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// A piece of content, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Answer(String),
    Thinking(String),
}

/// What the consumer of a piece wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep splitting.
    Split,
    /// Stop looking for tags: everything from here on is answer text, as written. Used once a
    /// textual tool call has started, so a `<think>` inside its arguments stays in them.
    Verbatim,
}

/// Splits streamed content into answer and thinking pieces.
#[derive(Debug, Default)]
pub(crate) struct ThinkSplitter {
    in_think: bool,
    /// Told to stop looking for tags (see [`Next::Verbatim`]).
    verbatim: bool,
    /// The end of the last delta, when it may be the start of a tag.
    pending: String,
    /// Whitespace right after a tag is dropped (`<think>\n…\n</think>\n\nAnswer`).
    skip_whitespace: bool,
}

impl ThinkSplitter {
    /// Feeds one content delta; classified pieces go to `sink` in order.
    pub fn push(&mut self, text: &str, sink: &mut dyn FnMut(Piece) -> Next) {
        let mut buffer = std::mem::take(&mut self.pending);
        buffer.push_str(text);
        let mut rest = buffer.as_str();
        loop {
            if self.verbatim {
                self.emit(rest, sink);
                return;
            }
            let tag = if self.in_think { CLOSE } else { OPEN };
            if let Some(pos) = rest.find(tag) {
                self.emit(&rest[..pos], sink);
                if self.verbatim {
                    // The piece just emitted started a call: the tag belongs to it.
                    self.emit(&rest[pos..], sink);
                    return;
                }
                rest = &rest[pos + tag.len()..];
                self.in_think = !self.in_think;
                self.skip_whitespace = true;
                continue;
            }
            let keep = partial_tag_suffix(rest, tag);
            let (now, later) = rest.split_at(rest.len() - keep);
            self.emit(now, sink);
            if self.verbatim {
                self.emit(later, sink);
            } else {
                self.pending = later.to_owned();
            }
            return;
        }
    }

    /// The content ended: a partial tag is just text, an unclosed block stays thinking.
    pub fn finish(&mut self, sink: &mut dyn FnMut(Piece) -> Next) {
        let pending = std::mem::take(&mut self.pending);
        self.emit(&pending, sink);
    }

    fn emit(&mut self, text: &str, sink: &mut dyn FnMut(Piece) -> Next) {
        let text = if self.skip_whitespace && !self.verbatim {
            let trimmed = text.trim_start();
            if !trimmed.is_empty() {
                self.skip_whitespace = false;
            }
            trimmed
        } else {
            text
        };
        if text.is_empty() {
            return;
        }
        let piece = if self.in_think {
            Piece::Thinking(text.to_owned())
        } else {
            Piece::Answer(text.to_owned())
        };
        if sink(piece) == Next::Verbatim && !self.in_think {
            self.verbatim = true;
        }
    }
}

/// The length of the longest end of `text` that is a proper start of `tag` (ASCII), e.g. 3 for
/// `"abc<th"` and `"<think>"`.
pub(crate) fn partial_tag_suffix(text: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&k| text.ends_with(&tag[..k]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(deltas: &[&str]) -> (String, String) {
        let mut splitter = ThinkSplitter::default();
        let mut pieces = Vec::new();
        let mut sink = |p: Piece| {
            pieces.push(p);
            Next::Split
        };
        for d in deltas {
            splitter.push(d, &mut sink);
        }
        splitter.finish(&mut sink);
        let mut answer = String::new();
        let mut thinking = String::new();
        for p in pieces {
            match p {
                Piece::Answer(t) => answer.push_str(&t),
                Piece::Thinking(t) => thinking.push_str(&t),
            }
        }
        (answer, thinking)
    }

    #[test]
    fn text_without_tags_is_answer() {
        assert_eq!(
            split(&["a <b> c", " d"]),
            ("a <b> c d".into(), String::new())
        );
    }

    #[test]
    fn a_think_block_is_thinking() {
        let text = "<think>\nLet me see.\n</think>\n\n17 × 23 = 391.";
        let expected = ("17 × 23 = 391.".to_owned(), "Let me see.\n".to_owned());
        assert_eq!(split(&[text]), expected);
        for cut in 0..=text.len() {
            if text.is_char_boundary(cut) {
                let (a, b) = text.split_at(cut);
                assert_eq!(split(&[a, b]), expected, "cut at {cut}");
            }
        }
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(split(&chars), expected);
    }

    #[test]
    fn an_unclosed_block_stays_thinking() {
        assert_eq!(
            split(&["<think>still going"]),
            (String::new(), "still going".into())
        );
    }

    #[test]
    fn a_partial_tag_at_the_end_is_text() {
        assert_eq!(split(&["x <thi"]), ("x <thi".into(), String::new()));
        assert_eq!(split(&["<think>a</thi"]), (String::new(), "a</thi".into()));
    }

    #[test]
    fn verbatim_stops_the_splitting_at_once() {
        let text = "<think>a</think>b {\"c\": \"<think>d</think>\"} <thi";
        let expected = ("b {\"c\": \"<think>d</think>\"} <thi", "a");
        for cut in 0..=text.len() {
            let (x, y) = text.split_at(cut);
            let mut splitter = ThinkSplitter::default();
            let (mut answer, mut thinking) = (String::new(), String::new());
            let mut sink = |p: Piece| match p {
                Piece::Answer(t) => {
                    answer.push_str(&t);
                    // Like the tool-call hold-back: a `{` starts something held whole.
                    if answer.contains('{') {
                        Next::Verbatim
                    } else {
                        Next::Split
                    }
                }
                Piece::Thinking(t) => {
                    thinking.push_str(&t);
                    Next::Split
                }
            };
            splitter.push(x, &mut sink);
            splitter.push(y, &mut sink);
            splitter.finish(&mut sink);
            assert_eq!(
                (answer.as_str(), thinking.as_str()),
                expected,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn partial_suffixes() {
        assert_eq!(partial_tag_suffix("abc<th", "<think>"), 3);
        assert_eq!(partial_tag_suffix("abc<", "<think>"), 1);
        assert_eq!(partial_tag_suffix("abc", "<think>"), 0);
        assert_eq!(partial_tag_suffix("<think>", "<think>"), 0);
        assert_eq!(partial_tag_suffix("é", "<think>"), 0);
    }
}
