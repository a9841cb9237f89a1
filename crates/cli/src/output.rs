//! How the CLI talks to people: colours (off for pipes and with `NO_COLOR`), warnings and
//! hints on stderr, tables and spinners — so stdout carries only the command's result.

use std::io::IsTerminal;
use std::time::Duration;

use anstyle::{AnsiColor, Style};

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub const GOOD: Style = AnsiColor::Green.on_default();
pub const BAD: Style = AnsiColor::Red.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();
pub const PATH: Style = AnsiColor::Cyan.on_default();

/// `text` in `style` (the escape codes are dropped later when colour is off).
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Prints a warning to stderr; continuation lines are indented. The message may quote what a
/// server or model wrote, so its control characters are made visible (it carries no colours).
pub fn warn(message: impl std::fmt::Display) {
    let message = message.to_string();
    anstream::eprintln!(
        "{}: {}",
        paint(WARN, "warning"),
        openclaw_untrusted::terminal::text(&message).replace('\n', "\n  ")
    );
}

/// Prints an error to stderr, with control characters made visible as for [`warn`].
pub fn error(message: impl std::fmt::Display) {
    let message = message.to_string();
    anstream::eprintln!(
        "{}: {}",
        paint(ERROR, "error"),
        openclaw_untrusted::terminal::text(&message)
    );
}

/// Prints a line to stdout.
pub fn out(line: impl std::fmt::Display) {
    anstream::println!("{line}");
}

/// Left-aligned columns separated by two spaces; cells may hold colour codes.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| visible_len(s);
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(width(cell));
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                out.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        out.push('\n');
    };
    line(headers.iter().map(|h| paint(BOLD, h)).collect(), &mut out);
    for row in rows {
        line(row.clone(), &mut out);
    }
    out
}

/// Length of `s` without ANSI escape sequences.
fn visible_len(s: &str) -> usize {
    let mut len = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => len += 1,
        }
    }
    len
}

/// A spinner on stderr while something slow runs; nothing when stderr is not a terminal.
pub struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    pub fn start(message: impl Into<String>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(80));
        Spinner(Some(bar))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_ignoring_colour_codes() {
        let t = table(
            &["A", "B"],
            &[
                vec![paint(GOOD, "yes"), "x".into()],
                vec!["longer".into(), "y".into()],
            ],
        );
        let plain: Vec<String> = t
            .lines()
            .map(|l| anstream::adapter::strip_str(l).to_string())
            .collect();
        assert_eq!(plain, vec!["A       B", "yes     x", "longer  y"]);
    }
}
