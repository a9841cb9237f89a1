//! `openclaw.json`: finding it, loading it, checking it strictly, and editing it safely.
//!
//! Loading is two-phase, like ripgrep's flags: the raw file ([`Document`], with positions) is
//! validated against the schema, then resolved (`${VAR}` substituted) into the typed
//! [`OpenClawConfig`] that the rest of the program reads.

mod auth_profiles;
mod choices;
mod document;
pub mod edit;
mod env;
mod env_subst;
mod error;
mod paths;
mod read;
pub mod schema;
mod store;
mod types;

pub use auth_profiles::{AuthProfile, AuthProfiles};
pub use choices::{ExecAsk, ExecSandbox, ExecSecurity, GatewayAuthMode, ThinkingLevel};
pub use document::{Document, Member, Node, NodeKind};
pub use edit::{parse_cli_value, ConfigPath};
pub use env::{vars, Env};
pub use env_subst::{substitute, variables_in};
pub use error::{ConfigError, Diagnostic, Severity};
pub use paths::{StatePaths, DEFAULT_AGENT_ID};
pub use read::{file_kind, read_text, MAX_CONFIG_BYTES};
pub use store::{create_private_dir, private_file_options, write_atomic};
pub use types::*;

use std::path::{Path, PathBuf};

/// A config as loaded for a command.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub path: PathBuf,
    /// False when there is no file yet (an empty config).
    pub exists: bool,
    pub document: Document,
    pub config: OpenClawConfig,
    /// Keys the original defines that we don't implement yet, and similar notes.
    pub warnings: Vec<Diagnostic>,
}

/// Loads the config at `path`; a missing file is an empty config.
pub fn load(path: &Path, env: &Env) -> Result<LoadedConfig, ConfigError> {
    let (text, exists) = match read::read_text(path)? {
        Some(text) => (text, true),
        None => (String::new(), false),
    };
    let checked = check(&text, &path.display().to_string(), Some(env))?;
    Ok(LoadedConfig {
        path: path.to_path_buf(),
        exists,
        document: checked.document,
        config: checked.config,
        warnings: checked.warnings,
    })
}

/// The result of checking a config text.
#[derive(Debug, Clone)]
pub struct Checked {
    pub document: Document,
    pub config: OpenClawConfig,
    pub warnings: Vec<Diagnostic>,
}

/// Parses and validates `text`; with `env`, also substitutes `${VAR}`s (without, they are left
/// as written, which is how a file is checked before it is written).
pub fn check(text: &str, origin: &str, env: Option<&Env>) -> Result<Checked, ConfigError> {
    let document = Document::parse(text, origin)?;
    let Some(root) = document.root() else {
        return Ok(Checked {
            document,
            config: OpenClawConfig::default(),
            warnings: Vec::new(),
        });
    };
    let line_col = |offset| document.line_col(offset);
    let diagnostics = schema::validate(root, origin, &line_col);
    let (errors, warnings): (Vec<_>, Vec<_>) = diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(ConfigError::Invalid {
            origin: origin.to_string(),
            diagnostics: errors,
        });
    }
    let value = match env {
        Some(env) => env_subst::resolve(root, env, origin, &line_col)?,
        None => root.to_value(),
    };
    let config: OpenClawConfig =
        serde_json::from_value(value).map_err(|e| ConfigError::Invalid {
            origin: origin.to_string(),
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                path: String::new(),
                origin: origin.to_string(),
                line: 1,
                column: 1,
                message: e.to_string(),
                hint: None,
            }],
        })?;
    Ok(Checked {
        document,
        config,
        warnings,
    })
}

/// An open config file being edited by `openclaw config set/unset` and friends.
///
/// Opening takes the file's edit lock and holds it until the editor is dropped, so concurrent
/// edits (of different keys, say) happen one after another, each on a fresh read: lock →
/// read → edit → write a temp file → fsync → rename. A symlinked config (a dotfiles repo) is
/// edited where it points, and stays a symlink.
#[derive(Debug)]
pub struct ConfigEditor {
    /// The file written: the config path with symlinks resolved.
    path: PathBuf,
    /// The path as the user named it, for messages.
    shown: PathBuf,
    document: Document,
    _lock: Option<std::fs::File>,
}

impl ConfigEditor {
    /// Opens (or starts) the file; it must parse, but need not be valid yet, so that
    /// `config set`/`unset` can repair an invalid file.
    pub fn open(path: &Path) -> Result<Self, ConfigError> {
        let target = resolve_symlinks(path);
        let lock = store::lock(&target).map_err(|error| ConfigError::Write {
            path: target.clone(),
            error,
        })?;
        let text = read::read_text(&target)?.unwrap_or_default();
        let document = Document::parse(text, &path.display().to_string())?;
        Ok(Self {
            path: target,
            shown: path.to_path_buf(),
            document,
            _lock: Some(lock),
        })
    }

    /// The current document.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The raw (unsubstituted) value at `path`.
    pub fn get(&self, path: &ConfigPath) -> Option<serde_json::Value> {
        edit::get(&self.document, path).map(Node::to_value)
    }

    /// Sets `path` to `value` in memory.
    pub fn set(&mut self, path: &ConfigPath, value: &serde_json::Value) -> Result<(), ConfigError> {
        let text = edit::set(&self.document, path, value)?;
        self.document = Document::parse(text, &self.shown.display().to_string())?;
        Ok(())
    }

    /// Removes `path` in memory.
    pub fn unset(&mut self, path: &ConfigPath) -> Result<(), ConfigError> {
        let text = edit::unset(&self.document, path)?;
        self.document = Document::parse(text, &self.shown.display().to_string())?;
        Ok(())
    }

    /// Validates the edited text and, only if it is valid, writes it atomically, keeping the
    /// previous file as `openclaw.json.bak`. Returns the warnings of the new text.
    pub fn save(&self) -> Result<Vec<Diagnostic>, ConfigError> {
        let checked = check(
            self.document.text(),
            &self.shown.display().to_string(),
            None,
        )?;
        write_atomic(&self.path, self.document.text(), true)?;
        Ok(checked.warnings)
    }
}

/// `path` with every symlink along it resolved (as far as they lead somewhere that exists), so
/// that a write replaces the file a symlink points to rather than the symlink.
fn resolve_symlinks(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&current) {
            Ok(target) => {
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Err(_) => return current,
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env() -> Env {
        Env::default()
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(&dir.path().join("openclaw.json"), &no_env()).unwrap();
        assert!(!loaded.exists);
        assert!(loaded.config.models.providers.is_empty());
    }

    #[test]
    fn closed_sets_parse_into_their_enums() {
        let checked = check(
            "{ agents: { defaults: { thinkingDefault: 'high' } },
               gateway: { auth: { mode: 'none' } },
               tools: { exec: { security: 'full', ask: 'off', sandbox: 'read-only' } } }",
            "c.json",
            Some(&no_env()),
        )
        .unwrap();
        assert!(checked.warnings.is_empty(), "{:?}", checked.warnings);
        let c = checked.config;
        assert_eq!(
            c.agents.defaults.thinking_default,
            Some(ThinkingLevel::High)
        );
        assert_eq!(c.gateway.auth.mode, Some(GatewayAuthMode::Disabled));
        assert_eq!(c.tools.exec.security, Some(ExecSecurity::Full));
        assert_eq!(c.tools.exec.ask, Some(ExecAsk::Off));
        assert_eq!(c.tools.exec.sandbox, Some(ExecSandbox::ReadOnly));
    }

    #[test]
    fn an_original_thinking_level_we_ignore_warns_and_falls_back() {
        let checked = check(
            "{ agents: { defaults: { thinkingDefault: 'adaptive' } } }",
            "c.json",
            Some(&no_env()),
        )
        .unwrap();
        assert_eq!(checked.config.agents.defaults.thinking_default, None);
        let [w] = checked.warnings.as_slice() else {
            panic!("{:?}", checked.warnings)
        };
        assert_eq!(w.severity, Severity::Warning);
        let shown = w.to_string();
        assert!(
            shown.contains("agents.defaults.thinkingDefault: \"adaptive\"")
                && shown.contains("it is ignored")
                && shown.contains(
                    "openclaw-rs accepts \"off\", \"minimal\", \"low\", \"medium\", \"high\", \"xhigh\""
                ),
            "{shown}"
        );
    }

    #[test]
    fn an_auth_mode_we_do_not_implement_loads_with_a_warning() {
        let checked = check(
            "{ gateway: { auth: { mode: 'password' } } }",
            "c.json",
            Some(&no_env()),
        )
        .unwrap();
        // Kept, so that the gateway can refuse it by name rather than fall back to another mode.
        assert_eq!(
            checked.config.gateway.auth.mode,
            Some(GatewayAuthMode::Password)
        );
        assert_eq!(checked.warnings.len(), 1);
    }

    #[test]
    fn an_unknown_exec_word_is_still_an_error() {
        let err = check(
            "{ tools: { exec: { ask: 'never' } } }",
            "c.json",
            Some(&no_env()),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`tools.exec.ask` must be one of"), "{err}");
    }

    #[test]
    fn failed_validation_leaves_the_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("openclaw.json");
        let original = "// mine\n{ gateway: { port: 1 } }\n";
        std::fs::write(&path, original).unwrap();
        let mut editor = ConfigEditor::open(&path).unwrap();
        editor
            .set(
                &ConfigPath::parse("gateway.port").unwrap(),
                &serde_json::json!("abc"),
            )
            .unwrap();
        let err = editor.save().unwrap_err().to_string();
        assert!(
            err.contains("`gateway.port` must be a whole number"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        assert!(!dir.path().join("openclaw.json.bak").exists());
    }
}
