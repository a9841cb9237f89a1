//! Cutting a Markdown note into pieces small enough to embed and to quote.
//!
//! A search hit must say where it came from (`memory/2026-03-01.md#L12-L20`), so every chunk
//! keeps its 1-based line range. Chunks end at a heading when they can (a note's sections are
//! its natural units) and otherwise when they reach [`MAX_CHUNK_CHARS`]; a chunk cut in the
//! middle of a section repeats its last line at the start of the next one, so a sentence split
//! across the cut is still found whole in one of them. The size stays well inside small
//! embedding models' 512-token window.

use sha2::{Digest, Sha256};

/// Longest chunk, in characters (~300 tokens of English).
pub const MAX_CHUNK_CHARS: usize = 1200;
/// A heading starts a new chunk only once the current one has this much text.
const MIN_CHUNK_CHARS: usize = 200;

/// One piece of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// First line, 1-based.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
    pub text: String,
    /// sha256 of the text: the key of its cached embedding.
    pub hash: String,
}

/// sha256 of `bytes`, hex.
pub fn hash_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The chunks of `text`; blank-only stretches make none.
pub fn chunk_markdown(text: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut current: Vec<(usize, &str)> = Vec::new();
    let mut size = 0usize;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let heading = line.trim_start().starts_with('#');
        if heading && size >= MIN_CHUNK_CHARS {
            flush(&mut out, &mut current, &mut size, false);
        }
        if line.len() > MAX_CHUNK_CHARS {
            // One very long line: its own chunks, cut on character boundaries.
            flush(&mut out, &mut current, &mut size, false);
            for piece in split_long(line) {
                push(&mut out, number, number, piece.to_string());
            }
            continue;
        }
        if size + line.len() + 1 > MAX_CHUNK_CHARS {
            flush(&mut out, &mut current, &mut size, true);
        }
        size += line.len() + 1;
        current.push((number, line));
    }
    flush(&mut out, &mut current, &mut size, false);
    out
}

fn flush(out: &mut Vec<Chunk>, current: &mut Vec<(usize, &str)>, size: &mut usize, overlap: bool) {
    let Some(last) = current.last().copied() else {
        return;
    };
    // Blank lines at either end belong to no chunk: a citation points at text, and a note
    // that only gained a blank line keeps its chunks' hashes (and vectors).
    let body: Vec<(usize, &str)> = current
        .iter()
        .copied()
        .skip_while(|(_, l)| l.trim().is_empty())
        .collect();
    let end = body
        .iter()
        .rposition(|(_, l)| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    if let (Some(first), Some(final_line)) = (body.first(), body.get(end.saturating_sub(1))) {
        let text = body[..end]
            .iter()
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join("\n");
        push(out, first.0, final_line.0, text);
    }
    current.clear();
    *size = 0;
    if overlap && !last.1.trim().is_empty() && !last.1.trim_start().starts_with('#') {
        *size = last.1.len() + 1;
        current.push(last);
    }
}

fn push(out: &mut Vec<Chunk>, start_line: usize, end_line: usize, text: String) {
    if text.trim().is_empty() {
        return;
    }
    out.push(Chunk {
        start_line,
        end_line,
        hash: hash_hex(text.as_bytes()),
        text,
    });
}

fn split_long(line: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while rest.len() > MAX_CHUNK_CHARS {
        let mut cut = MAX_CHUNK_CHARS;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // Prefer a space near the end, so words stay whole.
        if let Some(space) = rest[..cut].rfind(' ').filter(|s| *s > cut / 2) {
            cut = space + 1;
        }
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_notes_are_one_chunk_with_their_lines() {
        let chunks = chunk_markdown("# Groceries\n\n- oat milk\n- lentils\n");
        assert_eq!(chunks.len(), 1);
        assert_eq!((chunks[0].start_line, chunks[0].end_line), (1, 4));
        let shifted = chunk_markdown("\n\n# Groceries\n\n- oat milk\n- lentils\n\n");
        assert_eq!((shifted[0].start_line, shifted[0].end_line), (3, 6));
        assert_eq!(shifted[0].hash, chunks[0].hash);
        assert!(chunks[0].text.contains("lentils"));
    }

    #[test]
    fn headings_split_sections_once_there_is_enough_text() {
        let body = "word ".repeat(50);
        let text = format!("# A\n{body}\n# B\n{body}\n# C\nshort\n# D\nalso short\n");
        let chunks = chunk_markdown(&text);
        let ranges: Vec<_> = chunks.iter().map(|c| (c.start_line, c.end_line)).collect();
        // C is too small to stand alone: D joins it.
        assert_eq!(ranges, [(1, 2), (3, 4), (5, 8)]);
    }

    #[test]
    fn long_sections_are_cut_with_one_line_of_overlap_and_stay_under_the_cap() {
        let lines: Vec<String> = (1..=100)
            .map(|i| format!("line {i} {}", "x".repeat(40)))
            .collect();
        let chunks = chunk_markdown(&lines.join("\n"));
        assert!(chunks.len() > 2);
        for pair in chunks.windows(2) {
            assert_eq!(pair[1].start_line, pair[0].end_line, "one line of overlap");
        }
        assert!(chunks.iter().all(|c| c.text.len() <= MAX_CHUNK_CHARS));
        assert_eq!(chunks.last().unwrap().end_line, 100);
    }

    #[test]
    fn a_very_long_line_is_cut_on_char_boundaries() {
        let line = "é".repeat(2000);
        let chunks = chunk_markdown(&line);
        assert!(chunks.len() >= 3);
        assert!(chunks.iter().all(|c| c.start_line == 1 && c.end_line == 1));
        assert_eq!(
            chunks.iter().map(|c| c.text.chars().count()).sum::<usize>(),
            2000
        );
    }

    #[test]
    fn blank_text_makes_no_chunks_and_hashes_follow_the_text() {
        assert!(chunk_markdown("\n\n  \n").is_empty());
        assert_eq!(
            hash_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
