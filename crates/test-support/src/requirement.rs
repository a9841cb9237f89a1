//! What a test does when a part it needs is missing: fail under CI, skip loudly elsewhere.
//!
//! A few tests need something the repository cannot carry: Chromium, node packages, a Python
//! package, cargo-fuzz and cargo-deny, the local model backend. A newcomer's `cargo test` must
//! still pass without them, so such a test skips — but says so on stderr, and leaves a record
//! in [`SKIP_LOG_VAR`]'s directory that `scripts/test` sums up at the end. Under CI nothing may
//! be skipped quietly, so there it fails instead. This is the one place the tests read `CI`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable naming a directory where each skip leaves one record file (`scripts/test` sets
/// it and prints the records at the end).
pub const SKIP_LOG_VAR: &str = "OPENCLAW_TEST_SKIPS";

/// Whether the tests run under CI: `CI` is set, not empty, and neither `false` nor `0` (the
/// reading insta and most CI services share).
pub fn under_ci() -> bool {
    ci_means_ci(std::env::var_os("CI").as_deref())
}

fn ci_means_ci(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Says that `what` (a part this test needs) is missing and how to install it.
///
/// Under CI this panics, failing the test. Elsewhere it prints a SKIPPED line to stderr and,
/// when [`SKIP_LOG_VAR`] names a directory, records the skip there; the caller then returns
/// without testing anything.
pub fn missing(what: &str, install: &str) {
    let test = current_test();
    assert!(
        !under_ci(),
        "{test}: {what}\nCI is set, so a missing part fails instead of skipping; install it with: {install}"
    );
    eprintln!("\n*** SKIPPED {test}: {what}\n*** install it with: {install}\n");
    if let Some(dir) = std::env::var_os(SKIP_LOG_VAR) {
        if let Err(e) = record(Path::new(&dir), &test, what, install) {
            eprintln!(
                "*** could not record the skip in {}: {e}",
                Path::new(&dir).display()
            );
        }
    }
}

/// `<test binary>: <test name>` (libtest names each test's thread after the test).
fn current_test() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            // cargo appends `-<16 hex digits>` to test binaries
            Some((name, hash))
                if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                name.to_owned()
            }
            _ => stem,
        })
        .unwrap_or_else(|| "test".to_owned());
    match std::thread::current().name() {
        Some(name) if name != "main" => format!("{binary}: {name}"),
        _ => binary,
    }
}

/// One file per skip, so concurrent test processes never write to the same file.
fn record(dir: &Path, test: &str, what: &str, install: &str) -> std::io::Result<()> {
    static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "{}-{}.skip",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let indented = what.trim_end().replace('\n', "\n      ");
    let mut file = std::fs::File::create_new(dir.join(name))?;
    writeln!(file, "{test}\n  missing: {indented}\n  install: {install}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_counts_when_set_non_empty_and_not_false_or_zero() {
        for (value, ci) in [
            (None, false),
            (Some(""), false),
            (Some("false"), false),
            (Some("0"), false),
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
            (Some("woodpecker"), true),
        ] {
            assert_eq!(ci_means_ci(value.map(OsStr::new)), ci, "CI={value:?}");
        }
    }

    #[test]
    fn a_record_names_the_test_the_part_and_the_install_command() {
        let dir = std::env::temp_dir().join(format!("openclaw-skip-record-{}", std::process::id()));
        record(
            &dir,
            "bin: a_test",
            "chromium not found\nsecond line",
            "apt-get install chromium",
        )
        .unwrap();
        record(
            &dir,
            "bin: b_test",
            "node not found",
            "apt-get install nodejs",
        )
        .unwrap();
        let mut texts: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        texts.sort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            texts,
            [
                "bin: a_test\n  missing: chromium not found\n      second line\n  install: apt-get install chromium\n",
                "bin: b_test\n  missing: node not found\n  install: apt-get install nodejs\n",
            ]
        );
    }
}
