//! `agents/<id>/agent/auth-profiles.json`: credentials kept apart from the config.
//!
//! OpenClaw treats an `ollama` auth profile exactly like `OLLAMA_API_KEY`: it opts into
//! discovery and supplies the key. The file may hold profiles of kinds we don't use (OAuth,
//! tokens for other providers); they are kept untouched when we write.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::store::write_atomic;
use crate::ConfigError;

/// The parsed file; unknown content is preserved.
#[derive(Debug, Clone)]
pub struct AuthProfiles {
    path: PathBuf,
    root: Value,
}

/// One profile's useful part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthProfile {
    pub id: String,
    pub provider: String,
    pub kind: String,
    pub key: Option<String>,
}

impl AuthProfiles {
    /// Reads the file; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: path.to_path_buf(),
                    root: json!({"version": 1, "profiles": {}}),
                })
            }
            Err(error) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    error,
                })
            }
        };
        let bad = |message: String| ConfigError::AuthProfiles {
            path: path.to_path_buf(),
            message,
        };
        let root: Value = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "not valid JSON at line {} column {}: {e}\n  hint: fix or remove the file; `openclaw doctor --fix` can recreate the ollama profile",
                e.line(),
                e.column()
            ))
        })?;
        match root.get("profiles") {
            Some(Value::Object(_)) | None if root.is_object() => {}
            _ => {
                return Err(bad(
                    "expected `{\"version\": 1, \"profiles\": {…}}`".to_string()
                ))
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            root,
        })
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every profile, in file order.
    pub fn profiles(&self) -> Vec<AuthProfile> {
        let Some(Value::Object(map)) = self.root.get("profiles") else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(id, p)| {
                let provider = p
                    .get("provider")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| id.split(':').next().map(str::to_string))?;
                Some(AuthProfile {
                    id: id.clone(),
                    provider,
                    kind: p
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("api_key")
                        .to_string(),
                    key: ["key", "token", "apiKey"]
                        .iter()
                        .find_map(|k| p.get(*k).and_then(Value::as_str))
                        .map(str::to_string),
                })
            })
            .collect()
    }

    /// The first profile for `provider`, preferring `<provider>:default`.
    pub fn for_provider(&self, provider: &str) -> Option<AuthProfile> {
        let all = self.profiles();
        let default_id = format!("{provider}:default");
        all.iter()
            .find(|p| p.id == default_id)
            .or_else(|| all.iter().find(|p| p.provider == provider))
            .cloned()
    }

    /// Adds or replaces an API-key profile.
    pub fn set_api_key(&mut self, id: &str, provider: &str, key: &str) {
        if !self.root.is_object() {
            self.root = json!({"version": 1});
        }
        let root = match &mut self.root {
            Value::Object(m) => m,
            _ => return,
        };
        root.entry("version").or_insert(json!(1));
        let profiles = root
            .entry("profiles")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = profiles {
            map.insert(
                id.to_string(),
                json!({"type": "api_key", "provider": provider, "key": key}),
            );
        }
    }

    /// Writes the file atomically (mode 0600 when new).
    pub fn save(&self) -> Result<(), ConfigError> {
        let mut text =
            serde_json::to_string_pretty(&self.root).map_err(|e| ConfigError::AuthProfiles {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        text.push('\n');
        write_atomic(&self.path, &text, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_profile_is_found_and_other_content_survives_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth-profiles.json");
        std::fs::write(
            &path,
            r#"{"version":1,"profiles":{"anthropic:me":{"type":"oauth","provider":"anthropic","access":"x"},"ollama:default":{"type":"api_key","provider":"ollama","key":"ollama-local"}},"lastGood":{"a":1}}"#,
        )
        .unwrap();
        let mut store = AuthProfiles::load(&path).unwrap();
        let p = store.for_provider("ollama").unwrap();
        assert_eq!(p.key.as_deref(), Some("ollama-local"));
        assert!(store.for_provider("openai").is_none());
        store.set_api_key("openai:default", "openai", "sk-1");
        store.save().unwrap();
        let again: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(again["lastGood"]["a"], 1);
        assert_eq!(again["profiles"]["anthropic:me"]["access"], "x");
        assert_eq!(again["profiles"]["openai:default"]["key"], "sk-1");
    }

    #[test]
    fn missing_file_is_empty_and_garbage_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        assert!(AuthProfiles::load(&path).unwrap().profiles().is_empty());
        std::fs::write(&path, "{oops").unwrap();
        let err = AuthProfiles::load(&path).unwrap_err().to_string();
        assert!(err.contains("not valid JSON at line 1"), "{err}");
    }
}
