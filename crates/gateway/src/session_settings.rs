//! Per-session model and thinking level, set with `sessions.patch`.
//!
//! The transcript format is shared with the CLI and has no place for settings, so the gateway
//! keeps them beside its token: `<state>/gateway/session-settings.json` (mode 0600), written
//! whole and atomically on every change. They apply to runs the gateway starts; `openclaw
//! agent` run locally does not read them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One session's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Setting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<String>,
    #[serde(default)]
    pub updated_at: u64,
}

impl Setting {
    fn is_empty(&self) -> bool {
        self.model.is_none() && self.thinking_level.is_none()
    }
}

/// Every session's settings, loaded on first use.
pub struct SessionSettings {
    path: PathBuf,
    loaded: Mutex<Option<BTreeMap<String, Setting>>>,
}

/// Settings files larger than this are not read (a session's entry is a few dozen bytes).
const MAX_FILE: u64 = 4 * 1024 * 1024;

impl SessionSettings {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            loaded: Mutex::new(None),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Setting>) -> T) -> T {
        let mut guard = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let map = guard.get_or_insert_with(|| load(&self.path));
        f(map)
    }

    /// The settings of `session_id` (empty when none were set).
    pub fn get(&self, session_id: &str) -> Setting {
        self.with(|m| m.get(session_id).cloned().unwrap_or_default())
    }

    /// Replaces the settings of `session_id` and writes the file.
    pub fn set(&self, session_id: &str, setting: Setting) -> std::io::Result<()> {
        self.with(|m| {
            if setting.is_empty() {
                m.remove(session_id);
            } else {
                m.insert(session_id.to_string(), setting);
            }
            save(&self.path, m)
        })
    }

    /// Forgets `session_id` (reset or deleted).
    pub fn remove(&self, session_id: &str) -> std::io::Result<()> {
        self.with(|m| {
            if m.remove(session_id).is_some() {
                save(&self.path, m)
            } else {
                Ok(())
            }
        })
    }
}

fn load(path: &Path) -> BTreeMap<String, Setting> {
    let read = || -> Result<BTreeMap<String, Setting>, String> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(e.to_string()),
        };
        if meta.len() > MAX_FILE {
            return Err(format!("larger than {MAX_FILE} bytes"));
        }
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    };
    read().unwrap_or_else(|why| {
        tracing::warn!("ignoring the session settings in {}: {why}", path.display());
        BTreeMap::new()
    })
}

fn save(path: &Path, map: &BTreeMap<String, Setting>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_vec_pretty(map).map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("json.tmp-{}", std::process::id()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway/session-settings.json");
        let s = SessionSettings::new(path.clone());
        assert_eq!(s.get("main"), Setting::default());
        s.set(
            "main",
            Setting {
                model: Some("ollama/m".into()),
                thinking_level: None,
                updated_at: 5,
            },
        )
        .unwrap();
        let again = SessionSettings::new(path.clone());
        assert_eq!(again.get("main").model.as_deref(), Some("ollama/m"));
        again.remove("main").unwrap();
        assert_eq!(SessionSettings::new(path.clone()).get("main").model, None);
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(SessionSettings::new(path).get("main"), Setting::default());
    }
}
