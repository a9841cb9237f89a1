//! The config layer's one error type; every message says what, where, and what to do.

use std::fmt;
use std::path::PathBuf;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about a config file, located at `origin:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Dotted key path (`models.providers.ollama.baseUrl`); empty for the root.
    pub path: String,
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.origin, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong reading, checking or writing OpenClaw's files.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // `error`, not `source`: the message says it once (a `source` would be printed again by
    // every report that walks the chain).
    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {}: {error}\n  hint: check that the directory exists and is writable", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} is {what}, not a regular file\n  hint: point OPENCLAW_CONFIG_PATH at a JSON5 file", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{} is too large for a config file ({size} bytes; at most {max})", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error(
        "{origin}:{line}:{column}: the file is not valid UTF-8 here\n  hint: save it as UTF-8"
    )]
    NotUtf8 {
        origin: String,
        line: usize,
        column: usize,
    },
    #[error("{origin}:{line}:{column}: invalid JSON5: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", render_invalid(.origin, .diagnostics))]
    Invalid {
        origin: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("{origin}:{line}:{column}: environment variable `{var}` is not set (used in `{key_path}`)\n  hint: export {var}=…, or write `$${{{var}}}` for a literal `${{{var}}}`")]
    MissingEnvVar {
        var: String,
        key_path: String,
        origin: String,
        line: usize,
        column: usize,
    },
    #[error("invalid config path `{path}`: {reason}\n  hint: paths look like `models.providers.ollama.apiKey` or `a.b[0].c`; quote keys with dots as `agents.defaults.models[\"ollama/llama3.3\"]`")]
    BadPath { path: String, reason: String },
    #[error("config path `{path}` is not set")]
    PathNotFound { path: String },
    #[error("cannot set `{path}`: `{parent}` is {found}, not an object or array")]
    NotAContainer {
        path: String,
        parent: String,
        found: &'static str,
    },
    #[error("{}: {message}", path.display())]
    AuthProfiles { path: PathBuf, message: String },
}

fn render_invalid(origin: &str, diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let mut out = format!(
        "{origin} is not a valid OpenClaw config ({} error{})",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    // A broken file can hold thousands of errors: the first ones say what to fix.
    const SHOWN: usize = 20;
    for d in errors.iter().take(SHOWN) {
        out.push_str("\n  ");
        out.push_str(&d.to_string().replace('\n', "\n  "));
    }
    if errors.len() > SHOWN {
        out.push_str(&format!(
            "\n  … and {} more (fix these first)",
            errors.len() - SHOWN
        ));
    }
    out
}
