//! Reading what other programs send: model servers, Ollama, gateway clients.
//!
//! Two things every reader of untrusted bytes needs and that no single crate owns: parsing JSON
//! without letting a small body become a huge tree in memory ([`json`]), and quoting a piece of
//! a body in a message without letting it take over the user's terminal ([`quote`]).

pub mod json;

/// At most `max` characters of `text`, trimmed, on one line, with control characters written
/// as escapes (`\u{1b}`, `\n`) and `…` when cut: a server's words, safe to print. A hostile
/// or broken server must not be able to send terminal escape sequences (colours, cursor
/// moves, a fake prompt, a window title) into our error messages.
pub fn quote(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut out = String::with_capacity(text.len().min(max * 2));
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that reorder the text around them (the "Trojan Source" trick).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
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
    }

    #[test]
    fn long_text_is_cut_by_characters() {
        assert_eq!(quote("ééééé", 3), "ééé…");
        assert_eq!(quote("abc", 3), "abc");
        assert_eq!(quote("", 3), "");
    }
}
