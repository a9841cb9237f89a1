//! Reading what other programs send: model servers, Ollama, gateway clients.
//!
//! Two things every reader of untrusted bytes needs and that no single crate owns: parsing JSON
//! without letting a small body become a huge tree in memory ([`json`]), and showing what it
//! says — a model's answer, a command it wants to run, a piece of a body quoted in a message —
//! without letting it take over the user's terminal ([`terminal`], [`quote`]).

pub mod json;
pub mod terminal;

/// At most `max` characters of `text`, trimmed, on one line, with control, bidi and invisible
/// characters written as escapes (`\u{1b}`, `\n`) and `…` when cut: a server's words, safe to
/// print. A hostile or broken server must not be able to send terminal escape sequences
/// (colours, cursor moves, a fake prompt, a window title) into our error messages. The
/// escaping is [`terminal::line`]'s.
pub fn quote(text: &str, max: usize) -> String {
    terminal::quote(text, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(quote("  plain text \n", 200), "plain text");
        assert_eq!(
            quote("\u{1b}[31mred\u{1b}]0;title\u{7}", 200),
            "\\u{1b}[31mred\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(quote("a\nb\tc\r", 200), "a\\nb\\tc");
        assert_eq!(quote("\u{9b}2J", 200), "\\u{9b}2J");
        assert_eq!(quote("x\u{202e}y", 200), "x\\u{202e}y");
        assert_eq!(quote("héllo ✓", 200), "héllo ✓");
        assert_eq!(quote("a\u{200b}b\u{a0}c", 200), "a\\u{200b}b\\u{a0}c");
    }

    #[test]
    fn long_text_is_cut_by_characters() {
        assert_eq!(quote("ééééé", 3), "ééé…");
        assert_eq!(quote("abc", 3), "abc");
        assert_eq!(quote("", 3), "");
        assert_eq!(quote("\u{1b}\u{1b}\u{1b}\u{1b}", 2), "\\u{1b}\\u{1b}…");
    }
}
