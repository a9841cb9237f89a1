//! Crash-safe writes of the files we own.
//!
//! A file is written to a temporary sibling, flushed to disk, and renamed over the target, so
//! a crash leaves either the old or the new file, never a partial one. The previous version is
//! kept as `<name>.bak` (also by rename-of-a-copy, so the backup is never partial either).
//!
//! Files and directories we create under the state dir hold keys, tokens and conversations,
//! so they are private from the start (files 0600, directories 0700): [`create_private_dir`]
//! and [`private_file_options`] are the one place that says so, for every crate. A file we
//! rewrite keeps the mode its owner gave it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ConfigError;

/// Replaces `path` with `contents` atomically; keeps the old file as `<path>.bak` when asked.
/// New files are created with mode 0600 (they may hold keys); existing modes are kept.
pub fn write_atomic(path: &Path, contents: &str, keep_backup: bool) -> Result<(), ConfigError> {
    let err = |error| ConfigError::Write {
        path: path.to_path_buf(),
        error,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(err)?;
    remove_stale_temp_files(path);
    let existing = fs::metadata(path).ok();
    if keep_backup && existing.is_some() {
        let backup = sibling(path, ".bak");
        let tmp = sibling(path, &format!(".bak.tmp-{}", std::process::id()));
        fs::copy(path, &tmp).map_err(err)?;
        fs::rename(&tmp, &backup).map_err(err)?;
    }
    let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = open_new(&tmp, existing.as_ref())?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// An exclusive lock for editing `path`, held until the returned handle is dropped: a `flock`
/// on the directory that holds it (no lock file is left beside the user's config; the file
/// itself cannot carry the lock, since every write replaces it by a rename). The kernel
/// releases it when its holder dies, so a crash never leaves it stuck.
pub(crate) fn lock(path: &Path) -> std::io::Result<fs::File> {
    use std::os::fd::AsRawFd;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let handle = fs::File::open(dir)?;
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(handle);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Creates `dir` and any missing parents, each new one readable by the user only (0700).
/// Directories that already exist keep their mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options that create a file readable and writable by the user only (0600); the caller adds
/// how it opens (`write`, `append`, `create`, `truncate`…). An existing file keeps its mode.
pub fn private_file_options() -> fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Removes `<name>.tmp-<pid>` / `<name>.bak.tmp-<pid>` left by writers that were killed: those
/// whose process is gone, or that are over ten minutes old.
fn remove_stale_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some(pid) = file_name
            .strip_prefix(name)
            .and_then(|rest| {
                rest.strip_prefix(".tmp-")
                    .or_else(|| rest.strip_prefix(".bak.tmp-"))
            })
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(600));
        if pid != std::process::id() && (!process_alive(pid) || old) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true // unknown: only the age rule applies
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(unix)]
fn open_new(tmp: &Path, existing: Option<&fs::Metadata>) -> std::io::Result<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode = existing.map_or(0o600, |m| m.permissions().mode() & 0o7777);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)
}

#[cfg(not(unix))]
fn open_new(tmp: &Path, _existing: Option<&fs::Metadata>) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/openclaw.json");
        write_atomic(&path, "{a: 1}", true).unwrap();
        assert!(
            !sibling(&path, ".bak").exists(),
            "no backup of a file that did not exist"
        );
        write_atomic(&path, "{a: 2}", true).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{a: 2}");
        assert_eq!(
            fs::read_to_string(sibling(&path, ".bak")).unwrap(),
            "{a: 1}"
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn temp_files_of_dead_writers_are_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("openclaw.json");
        // No process has this pid on Linux (pid_max is at most 2^22).
        let stale = sibling(&path, ".tmp-999999999");
        let stale_bak = sibling(&path, ".bak.tmp-999999999");
        let unrelated = dir.path().join("other.json.tmp-999999999");
        for f in [&stale, &stale_bak, &unrelated] {
            fs::write(f, "x").unwrap();
        }
        write_atomic(&path, "{}", true).unwrap();
        assert!(!stale.exists() && !stale_bak.exists());
        assert!(
            unrelated.exists(),
            "only this file's temp files are touched"
        );
    }

    #[cfg(unix)]
    #[test]
    fn new_directories_are_private_and_existing_ones_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let deep = dir.path().join("state/agents/main/sessions");
        create_private_dir(&deep).unwrap();
        for p in [
            dir.path().join("state"),
            dir.path().join("state/agents"),
            dir.path().join("state/agents/main"),
            deep.clone(),
        ] {
            assert_eq!(mode(&p), 0o700, "{}", p.display());
        }
        assert_eq!(mode(dir.path()), 0o755, "an existing parent is left alone");
        fs::set_permissions(&deep, fs::Permissions::from_mode(0o750)).unwrap();
        create_private_dir(&deep).unwrap();
        assert_eq!(mode(&deep), 0o750);
        // A config written into a directory that does not exist yet.
        write_atomic(&dir.path().join("new/openclaw.json"), "{}", false).unwrap();
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        assert_eq!(mode(&dir.path().join("new/openclaw.json")), 0o600);
        let f = dir.path().join("new/transcript.jsonl");
        private_file_options()
            .create(true)
            .append(true)
            .open(&f)
            .unwrap();
        assert_eq!(mode(&f), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_private_and_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, "{}", false).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, "{b: 1}", false).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}
