//! Which files are memory, read without leaving the workspace.
//!
//! Memory is `MEMORY.md` at the workspace root and every `*.md` under `memory/` (at any depth,
//! so `memory/projects/x.md` and imported folders count). The indexer reads them through a
//! handle on the workspace root (cap-std, like the agent's file tools): a symlink, or a
//! directory swapped for one, can never make it index a file outside the workspace, whose text
//! the model could then search. Symlinks are skipped, as are hidden entries and files over
//! [`MAX_FILE_BYTES`].

use std::io::Read;
use std::path::Path;

use cap_std::fs::Dir;

/// Largest memory file indexed; a bigger one is reported and left out.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// Most files indexed (a runaway `memory/` folder must not make indexing unbounded).
pub const MAX_FILES: usize = 20_000;
const MAX_DEPTH: usize = 8;

/// The long-term memory file at the root.
pub const MEMORY_FILE: &str = "MEMORY.md";
/// The folder of daily notes and everything else indexed.
pub const MEMORY_DIR: &str = "memory";

/// A memory file found in the workspace.
#[derive(Debug, Clone)]
pub struct MemoryFile {
    /// Relative to the workspace, `/`-separated: `memory/2026-03-01.md`.
    pub path: String,
    pub size: u64,
    pub mtime_ms: i64,
}

/// The memory files of the workspace at `root`, sorted by path, and notes about files left
/// out (too big, too many).
pub fn list_memory_files(root: &Path) -> std::io::Result<(Vec<MemoryFile>, Vec<String>)> {
    let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for name in [MEMORY_FILE, "memory.md"] {
        if let Some(file) = regular_file(&dir, name, name, &mut notes) {
            // `memory.md` is an older spelling; on a case-insensitive disk both names are one file.
            if !out
                .iter()
                .any(|f: &MemoryFile| f.path.eq_ignore_ascii_case(&file.path))
            {
                out.push(file);
            }
        }
    }
    if let Ok(meta) = dir.symlink_metadata(MEMORY_DIR) {
        if meta.is_dir() {
            let sub = dir.open_dir(MEMORY_DIR)?;
            walk(&sub, MEMORY_DIR, 0, &mut out, &mut notes)?;
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((out, notes))
}

fn walk(
    dir: &Dir,
    prefix: &str,
    depth: usize,
    out: &mut Vec<MemoryFile>,
    notes: &mut Vec<String>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = dir.entries()?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{prefix}/{name}");
        let Ok(meta) = dir.symlink_metadata(&name) else {
            continue;
        };
        if meta.is_dir() {
            if depth + 1 >= MAX_DEPTH {
                notes.push(format!(
                    "{path}: deeper than {MAX_DEPTH} folders, not indexed"
                ));
                continue;
            }
            if let Ok(sub) = dir.open_dir(&name) {
                walk(&sub, &path, depth + 1, out, notes)?;
            }
        } else if name.to_ascii_lowercase().ends_with(".md") {
            if out.len() >= MAX_FILES {
                notes.push(format!(
                    "more than {MAX_FILES} memory files: the rest are not indexed"
                ));
                return Ok(());
            }
            if let Some(file) = regular_file(dir, &name, &path, notes) {
                out.push(file);
            }
        }
    }
    Ok(())
}

fn regular_file(dir: &Dir, name: &str, path: &str, notes: &mut Vec<String>) -> Option<MemoryFile> {
    let meta = dir.symlink_metadata(name).ok()?;
    if !meta.is_file() {
        return None; // a symlink, or not a file at all
    }
    if meta.len() > MAX_FILE_BYTES {
        notes.push(format!(
            "{path}: {} KiB is over the {} KiB a memory file may have, not indexed",
            meta.len() / 1024,
            MAX_FILE_BYTES / 1024
        ));
        return None;
    }
    let mtime_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.into_std().duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Some(MemoryFile {
        path: path.to_owned(),
        size: meta.len(),
        mtime_ms,
    })
}

/// Reads a memory file by its relative path, beneath the workspace root (no symlink is
/// followed out of it), as text (invalid UTF-8 replaced).
pub fn read_memory_file(root: &Path, path: &str) -> std::io::Result<String> {
    let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
    let meta = dir.symlink_metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    dir.open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether `path` (relative, as the model gives it) names memory: `MEMORY.md` or a `.md` file
/// under `memory/`, without `..`.
pub fn is_memory_path(path: &str) -> bool {
    let path = path.trim().trim_start_matches("./");
    if path.split(['/', '\\']).any(|c| c == ".." || c.is_empty()) {
        return false;
    }
    path.eq_ignore_ascii_case(MEMORY_FILE)
        || (path.starts_with("memory/") && path.to_ascii_lowercase().ends_with(".md"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_memory_md_and_notes_at_any_depth_but_no_symlinks_or_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("MEMORY.md"), "m").unwrap();
        std::fs::write(root.join("notes.md"), "not memory").unwrap();
        std::fs::create_dir_all(root.join("memory/projects")).unwrap();
        std::fs::create_dir_all(root.join("memory/.hidden")).unwrap();
        std::fs::write(root.join("memory/2026-03-01.md"), "a").unwrap();
        std::fs::write(root.join("memory/projects/garden.md"), "b").unwrap();
        std::fs::write(root.join("memory/projects/photo.png"), "b").unwrap();
        std::fs::write(root.join("memory/.hidden/x.md"), "b").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "s").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                outside.path().join("secret.md"),
                root.join("memory/link.md"),
            )
            .unwrap();
            std::os::unix::fs::symlink(outside.path(), root.join("memory/linked-dir")).unwrap();
        }
        let (files, notes) = list_memory_files(root).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "MEMORY.md",
                "memory/2026-03-01.md",
                "memory/projects/garden.md"
            ]
        );
        assert!(notes.is_empty());
        #[cfg(unix)]
        assert!(read_memory_file(root, "memory/link.md").is_err());
        assert_eq!(read_memory_file(root, "memory/2026-03-01.md").unwrap(), "a");
    }

    #[test]
    fn memory_paths_are_memory_md_or_markdown_under_memory() {
        for ok in ["MEMORY.md", "memory/2026-03-01.md", "./memory/a/b.md"] {
            assert!(is_memory_path(ok), "{ok}");
        }
        for bad in [
            "USER.md",
            "memory/../USER.md",
            "memory/x.txt",
            "/etc/x.md",
            "memory//x.md",
        ] {
            assert!(!is_memory_path(bad), "{bad}");
        }
    }
}
