//! Crash-safe writes of the files we own.
//!
//! A file is written to a temporary sibling, flushed to disk, and renamed over the target, so
//! a crash leaves either the old or the new file, never a partial one. The previous version is
//! kept as `<name>.bak` (also by rename-of-a-copy, so the backup is never partial either).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ConfigError;

/// Replaces `path` with `contents` atomically; keeps the old file as `<path>.bak` when asked.
/// New files are created with mode 0600 (they may hold keys); existing modes are kept.
pub fn write_atomic(path: &Path, contents: &str, keep_backup: bool) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(err)?;
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
