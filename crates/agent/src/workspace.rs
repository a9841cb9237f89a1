//! Keeping the file tools inside the workspace.
//!
//! A model can ask for any path; a confused or prompt-injected one will ask for `../../.ssh`.
//! Every path is resolved against the workspace root, normalised without touching the file
//! system (`..` cannot climb above the root), and then the deepest part that exists is
//! canonicalised, so a symlink inside the workspace cannot point the tool outside it.

use std::path::{Component, Path, PathBuf};

/// The directory the file tools may touch.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    canonical_root: PathBuf,
}

/// A path the tools may not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` is outside the workspace ({root}); file tools only work inside it")]
pub struct OutsideWorkspace {
    pub path: String,
    pub root: String,
}

impl Workspace {
    /// Opens (creating it if needed) the workspace at `root`.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let canonical_root = root.canonicalize()?;
        Ok(Self {
            root: root.to_path_buf(),
            canonical_root,
        })
    }

    /// The root as configured.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a path given by the model to a real path inside the workspace.
    pub fn resolve(&self, requested: &str) -> Result<PathBuf, OutsideWorkspace> {
        let outside = || OutsideWorkspace {
            path: requested.to_string(),
            root: self.root.display().to_string(),
        };
        let requested_path = Path::new(requested.trim());
        let joined = if requested_path.is_absolute() {
            requested_path.to_path_buf()
        } else {
            self.canonical_root.join(requested_path)
        };
        // Lexical normalisation: `..` may not climb above the filesystem root of the join.
        let mut normal = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    if !normal.pop() {
                        return Err(outside());
                    }
                }
                Component::CurDir => {}
                other => normal.push(other.as_os_str()),
            }
        }
        // An absolute path the model got from a listing of the workspace is fine; anything
        // else absolute is not.
        let inside_lexically =
            normal.starts_with(&self.canonical_root) || normal.starts_with(&self.root);
        if !inside_lexically {
            return Err(outside());
        }
        let normal = match normal.strip_prefix(&self.root) {
            Ok(rest) if !normal.starts_with(&self.canonical_root) => self.canonical_root.join(rest),
            _ => normal,
        };
        // Follow symlinks on the deepest existing ancestor (the file itself if it exists).
        let mut existing = normal.as_path();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => return Err(outside()),
            }
        }
        let mut real = existing.canonicalize().map_err(|_| outside())?;
        if !real.starts_with(&self.canonical_root) {
            return Err(outside());
        }
        for name in rest.iter().rev() {
            real.push(name);
        }
        Ok(real)
    }

    /// A path shown to the model: relative to the workspace root.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.canonical_root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_inside_absolute_paths_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(ws.resolve("notes.txt").unwrap(), root.join("notes.txt"));
        assert_eq!(ws.resolve("a/./b/../c.txt").unwrap(), root.join("a/c.txt"));
        assert_eq!(
            ws.resolve(root.join("x").to_str().unwrap()).unwrap(),
            root.join("x")
        );
    }

    #[test]
    fn escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        for bad in [
            "../secret",
            "a/../../secret",
            "/etc/passwd",
            "..",
            "../ws2/x",
        ] {
            assert!(ws.resolve(bad).is_err(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_cannot_lead_outside() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "s").unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("ws/link")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret"), dir.path().join("ws/file-link"))
            .unwrap();
        assert!(ws.resolve("link/secret").is_err());
        assert!(ws.resolve("link/new-file").is_err());
        assert!(ws.resolve("file-link").is_err());
    }
}
