//! Reading a config file as something from outside: bounded in size and time.
//!
//! The path may name anything — a FIFO that never delivers, a device that never ends, a file
//! of gigabytes — so it is opened without blocking, checked to be a regular file with `fstat`
//! on the open handle (no race with a swap), and read up to a cap. A UTF-8 byte order mark is
//! accepted (editors on some systems write one); invalid UTF-8 is reported at its line and
//! column.

use std::io::Read;
use std::path::Path;

use crate::ConfigError;

/// Largest config file read (a real one is a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The file's text, or `None` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                error,
            })
        }
    };
    let meta = file.metadata().map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = file_kind(kind);
        return Err(ConfigError::NotAFile {
            path: path.to_path_buf(),
            what,
        });
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            max: MAX_CONFIG_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max: MAX_CONFIG_BYTES,
        });
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Ok(Some(text.to_string())),
        Err(e) => {
            let good = &body[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            Err(ConfigError::NotUtf8 {
                origin: path.display().to_string(),
                line,
                column,
            })
        }
    }
}

/// What a file that is not a regular one is, for messages: "a directory", "a FIFO (named
/// pipe)", "a socket", "a device".
pub fn file_kind(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_file() {
        "a regular file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_is_accepted_and_bad_utf8_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, b"\xEF\xBB\xBF{ a: 1 }").unwrap();
        assert_eq!(read_text(&p).unwrap().unwrap(), "{ a: 1 }");
        std::fs::write(&p, b"{\n  a: \"x\xff\"\n}").unwrap();
        let e = read_text(&p).unwrap_err().to_string();
        assert!(e.contains("c.json:2:8:"), "{e}");
        assert_eq!(read_text(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn fifos_devices_directories_and_huge_files_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_text(&fifo).unwrap_err().to_string();
        assert!(e.contains("FIFO"), "{e}");
        let e = read_text(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("device"), "{e}");
        let e = read_text(dir.path()).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        let big = dir.path().join("big.json");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_CONFIG_BYTES + 1)
            .unwrap();
        let e = read_text(&big).unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
    }
}
