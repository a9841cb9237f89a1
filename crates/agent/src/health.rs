//! Which models failed recently: a cooldown per model, kept in the state directory.
//!
//! Without it every turn starts again at the primary, and a primary that hangs costs its whole
//! idle timeout (five minutes by default) on every turn before the fallback answers. A model
//! that fails in a way that may pass (connection refused, timeout, 5xx, 429) is skipped for a
//! while — 1, 5, 25 minutes, then an hour for each further failure in a row — and tried again
//! once that time is over; one success clears it. The file is shared by every `openclaw`
//! process of the state dir (CLI runs and the gateway alike): each change is made under a lock,
//! on a fresh read, and written atomically, so concurrent writers lose nothing.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use openclaw_llm::LlmError;
use serde::{Deserialize, Serialize};

/// The file name under the state directory's `agents/<id>/`.
pub const HEALTH_FILE: &str = "model-health.json";

/// Largest health file read; anything bigger is treated as empty (it holds a few entries).
const MAX_FILE: u64 = 256 * 1024;

/// One model's recent failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cooldown {
    /// Failures in a row.
    pub failures: u32,
    /// Skipped until this time (ms since the epoch).
    pub until_ms: u64,
    /// The last failure's class (`timeout`, `connect`, …).
    pub kind: String,
}

/// Cooldown after the `failures`-th failure in a row.
pub fn cooldown_ms(failures: u32) -> u64 {
    const MINUTE: u64 = 60_000;
    match failures {
        0 | 1 => MINUTE,
        2 => 5 * MINUTE,
        3 => 25 * MINUTE,
        _ => 60 * MINUTE,
    }
}

/// Whether a failure says something about the model's health now (and so starts a cooldown).
pub fn counts(error: &LlmError) -> bool {
    matches!(
        error,
        LlmError::Connect { .. }
            | LlmError::Timeout { .. }
            | LlmError::Server { .. }
            | LlmError::RateLimited { .. }
    )
}

/// The cooldowns, in memory or backed by a file.
#[derive(Debug, Default)]
pub struct ModelHealth {
    path: Option<PathBuf>,
    entries: BTreeMap<String, Cooldown>,
}

impl ModelHealth {
    /// Nothing remembered beyond this process.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Backed by `path` (created on the first failure).
    pub fn at(path: PathBuf) -> Self {
        let entries = read_entries(&path);
        Self {
            path: Some(path),
            entries,
        }
    }

    /// The model's cooldown if it is still running at `now_ms`.
    pub fn cooling(&mut self, model: &str, now_ms: u64) -> Option<Cooldown> {
        if let Some(path) = &self.path {
            self.entries = read_entries(path);
        }
        self.entries
            .get(model)
            .filter(|c| c.until_ms > now_ms)
            .cloned()
    }

    /// Records a failure; returns the cooldown it started.
    pub fn failed(&mut self, model: &str, kind: &str, now_ms: u64) -> Cooldown {
        let mut started = None;
        self.update(|entries| {
            let failures = entries.get(model).map_or(0, |c| c.failures) + 1;
            let c = Cooldown {
                failures,
                until_ms: now_ms + cooldown_ms(failures),
                kind: kind.to_string(),
            };
            entries.insert(model.to_string(), c.clone());
            started = Some(c);
        });
        started.unwrap_or(Cooldown {
            failures: 1,
            until_ms: now_ms + cooldown_ms(1),
            kind: kind.to_string(),
        })
    }

    /// Records a success: the model's failures are forgotten (the file is only written when
    /// it held any).
    pub fn succeeded(&mut self, model: &str) {
        let known = match &self.path {
            Some(path) => read_entries(path).contains_key(model),
            None => self.entries.contains_key(model),
        };
        if known {
            self.update(|entries| {
                entries.remove(model);
            });
        }
    }

    /// Lock, re-read, change, write a temp file, rename. Best effort: a state dir that cannot
    /// be written keeps the cooldown in memory only.
    fn update(&mut self, change: impl FnOnce(&mut BTreeMap<String, Cooldown>)) {
        let Some(path) = self.path.clone() else {
            change(&mut self.entries);
            return;
        };
        let lock = lock_file(&path);
        let mut entries = read_entries(&path);
        change(&mut entries);
        let _ = write_entries(&path, &entries);
        drop(lock);
        self.entries = entries;
    }
}

fn read_entries(path: &Path) -> BTreeMap<String, Cooldown> {
    let Ok(file) = std::fs::File::open(path) else {
        return BTreeMap::new();
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return BTreeMap::new();
    }
    let mut text = String::new();
    if file.take(MAX_FILE).read_to_string(&mut text).is_err() {
        return BTreeMap::new();
    }
    serde_json::from_str(&text).unwrap_or_default()
}

fn write_entries(path: &Path, entries: &BTreeMap<String, Cooldown>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        openclaw_config::create_private_dir(dir)?;
    }
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let mut f = openclaw_config::private_file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    f.write_all(serde_json::to_string_pretty(entries)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// An exclusive lock on `<path>.lock`, released when dropped (and by the kernel if the holder
/// dies, so a crash never leaves it stuck).
fn lock_file(path: &Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    if let Some(dir) = path.parent() {
        openclaw_config::create_private_dir(dir).ok()?;
    }
    let f = openclaw_config::private_file_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path.with_extension("json.lock"))
        .ok()?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return None;
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldowns_grow_and_a_success_clears_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents/main").join(HEALTH_FILE);
        let mut h = ModelHealth::at(path.clone());
        assert_eq!(h.cooling("ollama/a", 0), None);
        assert_eq!(h.failed("ollama/a", "timeout", 1000).until_ms, 61_000);
        assert_eq!(h.failed("ollama/a", "timeout", 2000).until_ms, 302_000);
        // Another process sees it.
        let mut other = ModelHealth::at(path.clone());
        let c = other.cooling("ollama/a", 3000).unwrap();
        assert_eq!((c.failures, c.kind.as_str()), (2, "timeout"));
        assert_eq!(other.cooling("ollama/a", 302_000), None);
        other.succeeded("ollama/a");
        assert_eq!(h.cooling("ollama/a", 3000), None);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn concurrent_failures_are_all_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HEALTH_FILE);
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    ModelHealth::at(path).failed(&format!("m{i}"), "server", 0);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(read_entries(&path).len(), 8);
    }

    #[test]
    fn a_broken_file_is_an_empty_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HEALTH_FILE);
        std::fs::write(&path, "{not json").unwrap();
        let mut h = ModelHealth::at(path);
        assert_eq!(h.cooling("x", 0), None);
        h.failed("x", "connect", 0);
        assert!(h.cooling("x", 1).is_some());
    }
}
