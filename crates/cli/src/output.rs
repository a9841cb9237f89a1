//! The printer: the one place where the CLI writes to stdout and stderr.
//!
//! stdout carries only a command's result (human text, or JSON with `--json`); warnings,
//! progress and hints go to stderr. Colour is decided here once per stream by `anstream`: on a
//! terminal only, off with `NO_COLOR`, forced with `CLICOLOR_FORCE`, so escape codes never
//! reach a pipe or file. A closed stdout (`openclaw models list | head -1`) ends the process
//! quietly with success, as `head` asked for no more. Nothing else in the crate prints: clippy's
//! `print_stdout`, `print_stderr` and the `anstream` print macros are denied outside this
//! module (the workspace `Cargo.toml` and `clippy.toml`), so use [`outln!`], [`out!`],
//! [`errln!`], [`err!`], [`json`] or the helpers below.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Style};

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub const GOOD: Style = AnsiColor::Green.on_default();
pub const BAD: Style = AnsiColor::Red.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();
pub const PATH: Style = AnsiColor::Cyan.on_default();

/// Writes `text` to stdout as is and flushes it (streamed answers show at once). A closed
/// pipe ends the process quietly with success; any other write error is ignored, as there is
/// nowhere left to report it.
pub fn out_text(text: impl Display) {
    let mut stdout = anstream::stdout().lock();
    let written = write!(stdout, "{text}").and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(crate::exit::Exit::Success as i32);
        }
    }
}

/// Writes `text` to stderr as is. Errors (stderr closed) are ignored.
pub fn err_text(text: impl Display) {
    let mut stderr = anstream::stderr().lock();
    let _ = write!(stderr, "{text}").and_then(|()| stderr.flush());
}

/// A command's `--json` result on stdout: pretty JSON of a serde value, one trailing newline.
/// Every character a terminal could act on is a JSON escape (text a model or server wrote
/// may be in it); parsing gives back exactly the same strings.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = openclaw_untrusted::terminal::to_json_pretty(value)?;
    out_text(format_args!("{text}\n"));
    Ok(())
}

/// For `#[serde(serialize_with)]`: a human text that may carry [`paint`]ed parts goes into JSON
/// without its escape codes.
pub fn plain<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&anstream::adapter::strip_str(text))
}

/// [`plain`] for an optional text.
pub fn plain_opt<S: serde::Serializer>(
    text: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) => plain(text, serializer),
        None => serializer.serialize_none(),
    }
}

/// `print!` through the printer: stdout, colour stripped off a terminal, closed pipe handled.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::out_text(format_args!($($arg)*)) };
}

/// `println!` through the printer.
macro_rules! outln {
    () => { $crate::output::out_text("\n") };
    ($($arg:tt)*) => { $crate::output::out_text(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` through the printer.
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::err_text(format_args!($($arg)*)) };
}

/// `eprintln!` through the printer.
macro_rules! errln {
    () => { $crate::output::err_text("\n") };
    ($($arg:tt)*) => { $crate::output::err_text(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `text` in `style` (the escape codes are dropped later when colour is off).
pub fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Prints a warning to stderr; continuation lines are indented. The message may quote what a
/// server or model wrote, so its control characters are made visible (it carries no colours).
pub fn warn(message: impl Display) {
    let message = message.to_string();
    errln!(
        "{}: {}",
        paint(WARN, "warning"),
        openclaw_untrusted::terminal::text(&message).replace('\n', "\n  ")
    );
}

/// Prints an error to stderr, with control characters made visible as for [`warn`].
pub fn error(message: impl Display) {
    let message = message.to_string();
    errln!(
        "{}: {}",
        paint(ERROR, "error"),
        openclaw_untrusted::terminal::text(&message)
    );
}

/// Prints a line to stdout.
pub fn out(line: impl Display) {
    outln!("{line}");
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
