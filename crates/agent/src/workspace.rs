//! Keeping the file tools inside the workspace.
//!
//! A model can ask for any path; a confused or prompt-injected one will ask for `../../.ssh`.
//! Every path is resolved against the workspace root, normalised without touching the file
//! system (`..` cannot climb above the root), and then the deepest part that exists is
//! canonicalised, so a symlink inside the workspace cannot point the tool outside it.
//!
//! That check alone would race: between it and the open, another process (or the model itself,
//! through an approved `exec`) can swap a directory for a symlink. So the files are then opened
//! through a directory handle on the root (`cap-std`: `openat2(RESOLVE_BENEATH)` on Linux,
//! component-by-component `O_NOFOLLOW` resolution elsewhere), and the open itself refuses to
//! leave the workspace.
//!
//! A file is replaced whole (a temporary sibling, then a rename), and the replacement keeps
//! the mode of the file it replaces: a private 0600 file stays private, a script stays
//! executable. The mode is read without following a symlink, through the same handle.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::fs::{Dir, OpenOptions, Permissions};

/// The directory the file tools may touch.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    canonical_root: PathBuf,
    /// Every file operation goes through this handle; see the module docs.
    dir: Arc<Dir>,
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
        let dir = Dir::open_ambient_dir(&canonical_root, cap_std::ambient_authority())?;
        Ok(Self {
            root: root.to_path_buf(),
            canonical_root,
            dir: Arc::new(dir),
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

    /// Opens a file [`resolve`](Self::resolve)d earlier for reading, without leaving the
    /// workspace even if the path changed since. Opened without blocking (a FIFO with no
    /// writer would hang the open) and checked with `fstat` on the handle: anything but a
    /// regular file — FIFO, socket, device, directory — is refused with an error that says
    /// what it is. Returns the file and its size.
    pub fn open_regular(&self, real: &Path) -> io::Result<(std::fs::File, u64)> {
        use cap_std::fs::OpenOptionsExt;
        let mut options = cap_std::fs::OpenOptions::new();
        options.read(true).custom_flags(libc::O_NONBLOCK);
        let file = self
            .dir
            .open_with(self.relative(real)?, &options)
            .map_err(escape_error)?
            .into_std();
        let meta = file.metadata()?;
        let kind = meta.file_type();
        if !kind.is_file() {
            let what = openclaw_config::file_kind(kind);
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{what}, not a regular file; file tools only read regular files"),
            ));
        }
        Ok((file, meta.len()))
    }

    /// Reads a whole file [`resolve`](Self::resolve)d earlier (see [`open_regular`]) of at
    /// most `max` bytes.
    ///
    /// [`open_regular`]: Self::open_regular
    pub fn read(&self, real: &Path, max: u64) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let (file, size) = self.open_regular(real)?;
        if size > max {
            return Err(too_large(size, max));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(max + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max {
            return Err(too_large(bytes.len() as u64, max));
        }
        Ok(bytes)
    }

    /// Replaces a file [`resolve`](Self::resolve)d earlier (creating its directories) through a
    /// temporary sibling and a rename, so a crash never leaves half a file; never outside the
    /// workspace, even if the path changed since. An existing file keeps its mode (see
    /// [`kept_permissions`]); a new one gets the default mode, the umask applied. A symlink is
    /// refused, not replaced (see [`kept_permissions`]).
    pub fn write_atomic(&self, real: &Path, content: &[u8]) -> io::Result<()> {
        let relative = self.relative(real)?;
        let name = relative
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let parent = relative.parent().unwrap_or(Path::new(""));
        let dir = if parent.as_os_str().is_empty() {
            self.dir.try_clone()?
        } else {
            match self.dir.open_dir(parent) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.dir.create_dir_all(parent).map_err(escape_error)?;
                    self.dir.open_dir(parent)
                }
                opened => opened,
            }
            .map_err(escape_error)?
        };
        let kept = kept_permissions(&dir, name)?;
        let tmp = temp_name(name);
        // A leftover of a crashed run with the same process id: opening it again would keep
        // its mode instead of the one chosen here.
        let _ = dir.remove_file(&tmp);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if kept.is_some() {
            // Owner-only until it gets the replaced file's mode, whatever the umask.
            use cap_std::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = dir.open_with(&tmp, &options).and_then(|mut file| {
            file.write_all(content)?;
            if let Some(permissions) = kept {
                file.set_permissions(permissions)?;
            }
            file.sync_all()
        });
        written
            .and_then(|()| dir.rename(&tmp, &dir, name))
            .inspect_err(|_| {
                let _ = dir.remove_file(&tmp);
            })
            .map_err(escape_error)
    }

    /// A directory [`resolve`](Self::resolve)d earlier, opened beneath the root, as a path a
    /// child process can be started in: on Linux `/proc/self/fd/<n>` of the open handle (the
    /// child's `chdir` happens after the fork, where it names the same handle), so a directory
    /// swapped for a symlink since the check cannot send the child elsewhere. The handle stays
    /// open as long as the returned value lives.
    pub fn enter_dir(&self, real: &Path) -> io::Result<EnteredDir> {
        let dir = self
            .dir
            .open_dir(self.relative(real)?)
            .map_err(escape_error)?;
        #[cfg(target_os = "linux")]
        let path = {
            use std::os::fd::AsRawFd;
            PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()))
        };
        #[cfg(not(target_os = "linux"))]
        let path = real.to_path_buf();
        Ok(EnteredDir { _dir: dir, path })
    }

    /// `real` relative to the root, as the directory handle wants it.
    fn relative<'a>(&self, real: &'a Path) -> io::Result<&'a Path> {
        match real.strip_prefix(&self.canonical_root) {
            Ok(rel) if rel.as_os_str().is_empty() => Ok(Path::new(".")),
            Ok(rel) => Ok(rel),
            Err(_) => Err(io::Error::new(io::ErrorKind::PermissionDenied, OUTSIDE)),
        }
    }

    /// A path shown to the model: relative to the workspace root.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.canonical_root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string())
    }
}

/// A directory of the workspace held open, to start a child process in.
#[derive(Debug)]
pub struct EnteredDir {
    _dir: Dir,
    path: PathBuf,
}

impl EnteredDir {
    /// The path to give `Command::current_dir`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What an I/O error says when the open itself refused to leave the workspace.
pub const OUTSIDE: &str = "the path leads outside the workspace";

/// What an I/O error says when the file to replace is a symlink.
pub const SYMLINK_LEFT_ALONE: &str = "it is a symlink that does not lead to a file in the \
     workspace (dangling, or swapped in after the path was checked); it was left alone";

/// The permissions the file `name` in `dir` has, for its replacement to keep; `None` when
/// there is no such file (or it is not a regular file: the rename then fails on its own).
///
/// Read without following a symlink. Resolving the path followed every link that leads to an
/// existing file, so a symlink here is dangling (maybe to a path outside the workspace) or was
/// swapped in since: it is refused rather than silently replaced by a regular file, and what
/// it points to is never written. Set-user-ID, set-group-ID and sticky bits
/// are not kept: an ordinary write clears the first two, and content a model wrote must not
/// become a set-ID program.
fn kept_permissions(dir: &Dir, name: &OsStr) -> io::Result<Option<Permissions>> {
    let meta = match dir.symlink_metadata(name) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(escape_error(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            SYMLINK_LEFT_ALONE,
        ));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut permissions = meta.permissions();
    #[cfg(unix)]
    {
        use cap_std::fs::PermissionsExt;
        permissions.set_mode(permissions.mode() & 0o777);
    }
    Ok(Some(permissions))
}

/// cap-std's "a path led outside of the filesystem", in our words.
/// The temporary sibling of `name`: `.<name>.openclaw-tmp-<pid>`, or, for a name too long to
/// take the suffix within the 255-byte limit of file names, a short one made from a hash of it.
fn temp_name(name: &std::ffi::OsStr) -> String {
    use std::hash::{Hash, Hasher};
    let pid = std::process::id();
    let long = format!(".{}.openclaw-tmp-{pid}", name.to_string_lossy());
    if long.len() <= 255 {
        return long;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    format!(".openclaw-tmp-{:016x}-{pid}", h.finish())
}

fn too_large(size: u64, max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} MiB, more than the {} MiB this tool handles whole",
            size / (1024 * 1024),
            max / (1024 * 1024)
        ),
    )
}

fn escape_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::PermissionDenied && e.to_string().contains("outside") {
        io::Error::new(io::ErrorKind::PermissionDenied, OUTSIDE)
    } else {
        e
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

    /// The race, made deterministic: the directory is swapped for an outside symlink after the
    /// path was checked; the open itself must refuse.
    #[cfg(unix)]
    #[test]
    fn a_swap_after_the_check_is_refused_by_the_open() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("f"), "secret").unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        std::fs::create_dir(dir.path().join("ws/d")).unwrap();
        let real = ws.resolve("d/f").unwrap();
        std::fs::remove_dir(dir.path().join("ws/d")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("ws/d")).unwrap();

        let err = ws.write_atomic(&real, b"x").unwrap_err();
        assert_eq!(err.to_string(), OUTSIDE);
        let err = ws.read(&real, 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), OUTSIDE);
        assert_eq!(
            std::fs::read_to_string(outside.join("f")).unwrap(),
            "secret"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
    }

    #[test]
    fn writes_replace_whole_files_and_create_directories() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let real = ws.resolve("a/b/c.txt").unwrap();
        ws.write_atomic(&real, b"one").unwrap();
        ws.write_atomic(&real, b"two").unwrap();
        assert_eq!(ws.read(&real, 1 << 20).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a/b")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
        let root = ws.resolve(".").unwrap();
        assert!(ws.write_atomic(&root, b"x").is_err());
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_default() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        for (name, before, after) in [
            ("private", 0o600, 0o600),
            ("script", 0o755, 0o755),
            ("read-only", 0o444, 0o444),
            ("setuid", 0o4755, 0o755),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, "old").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(before)).unwrap();
            ws.write_atomic(&ws.resolve(name).unwrap(), b"new").unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "new", "{name}");
            assert_eq!(mode(&path), after, "{name}: {:o}", mode(&path));
        }
        // A new file: what any other program would create here, with the same umask.
        std::fs::write(dir.path().join("reference"), "").unwrap();
        ws.write_atomic(&ws.resolve("fresh").unwrap(), b"x")
            .unwrap();
        assert_eq!(
            mode(&dir.path().join("fresh")),
            mode(&dir.path().join("reference"))
        );
        // A leftover temporary file of the same process id does not lend its mode.
        let leftover = dir
            .path()
            .join(format!(".other.openclaw-tmp-{}", std::process::id()));
        std::fs::write(&leftover, "").unwrap();
        std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o666)).unwrap();
        ws.write_atomic(&ws.resolve("other").unwrap(), b"x")
            .unwrap();
        assert_eq!(
            mode(&dir.path().join("other")),
            mode(&dir.path().join("reference"))
        );
        assert!(!leftover.exists());
    }

    /// A checked file swapped for a symlink to an outside file before the write: the write is
    /// refused, the link stays a link, and the outside file keeps its content and mode.
    #[cfg(unix)]
    #[test]
    fn a_file_swapped_for_a_symlink_after_the_check_is_not_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "secret").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o640)).unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        let file = dir.path().join("ws/f");
        std::fs::write(&file, "mine").unwrap();
        let real = ws.resolve("f").unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&outside, &file).unwrap();

        let err = ws.write_atomic(&real, b"x").unwrap_err();
        assert_eq!(err.to_string(), SYMLINK_LEFT_ALONE);
        assert!(std::fs::symlink_metadata(&file)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret");
        assert_eq!(mode(&outside), 0o640);
        assert_eq!(std::fs::read_dir(dir.path().join("ws")).unwrap().count(), 1);
    }

    /// A working directory swapped for an outside symlink after the check: the command would
    /// have run outside; entering through the handle refuses.
    #[cfg(unix)]
    #[test]
    fn a_workdir_swapped_after_the_check_is_not_entered() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        std::fs::create_dir(dir.path().join("ws/d")).unwrap();
        let real = ws.resolve("d").unwrap();
        let entered = ws.enter_dir(&real).unwrap();
        let pwd = std::process::Command::new("pwd")
            .current_dir(entered.path())
            .output()
            .unwrap();
        assert!(pwd.status.success());
        let shown = String::from_utf8_lossy(&pwd.stdout);
        assert!(shown.trim_end().ends_with("/ws/d"), "{shown}");
        drop(entered);

        std::fs::remove_dir(dir.path().join("ws/d")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("ws/d")).unwrap();
        let err = ws.enter_dir(&real).unwrap_err();
        assert_eq!(err.to_string(), OUTSIDE);
    }

    #[test]
    fn a_255_byte_file_name_can_be_written_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let name = format!("{}.txt", "n".repeat(251));
        assert_eq!(name.len(), 255);
        let real = ws.resolve(&name).unwrap();
        ws.write_atomic(&real, b"one").unwrap();
        ws.write_atomic(&real, b"two").unwrap();
        assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }
}
