//! `openclaw config get|set|unset|file|validate`.

use crate::exit::Exit;

use anyhow::{bail, Result};
use openclaw_config::{ConfigEditor, ConfigError, ConfigPath, Diagnostic, Severity};
use serde::Serialize;
use serde_json::Value;

use crate::args::ConfigCommand;
use crate::context::Context;
use crate::output::{self, paint, GOOD};

pub fn run(ctx: &Context, cmd: ConfigCommand) -> Result<Exit> {
    let file = &ctx.paths.config_file;
    match cmd {
        ConfigCommand::File => {
            output::out(file.display());
        }
        ConfigCommand::Get { path, json } => {
            let path = ConfigPath::parse(&path)?;
            let editor = ConfigEditor::open(file)?;
            let Some(value) = editor.get(&path) else {
                bail!(ConfigError::PathNotFound {
                    path: path.as_str().to_string()
                });
            };
            let value = redact(&value, path.last_key());
            match (&value, json) {
                (Value::String(s), false) => output::out(s),
                _ => output::json(&value)?,
            }
        }
        ConfigCommand::Set {
            path,
            value,
            string,
        } => {
            let path = ConfigPath::parse(&path)?;
            let value = if string {
                Value::String(value)
            } else {
                openclaw_config::parse_cli_value(&value)
            };
            let mut editor = ConfigEditor::open(file)?;
            editor.set(&path, &value)?;
            for w in editor.save()? {
                output::warn(w);
            }
            let shown = redact(&value, path.last_key());
            output::out(format!(
                "{} {} = {} in {}",
                paint(GOOD, "Updated"),
                path.as_str(),
                compact(&shown),
                ctx.show_path(file)
            ));
        }
        ConfigCommand::Unset { path } => {
            let path = ConfigPath::parse(&path)?;
            let mut editor = ConfigEditor::open(file)?;
            editor.unset(&path)?;
            for w in editor.save()? {
                output::warn(w);
            }
            output::out(format!(
                "{} {} from {}",
                paint(GOOD, "Removed"),
                path.as_str(),
                ctx.show_path(file)
            ));
        }
        ConfigCommand::Validate { json } => return validate(ctx, json),
    }
    Ok(Exit::Success)
}

fn validate(ctx: &Context, json: bool) -> Result<Exit> {
    let file = &ctx.paths.config_file;
    let env = &ctx.env;
    let result = openclaw_config::load(file, env);
    if json {
        let (valid, exists, errors, warnings) = match &result {
            Ok(l) => (true, l.exists, Vec::new(), l.warnings.clone()),
            Err(e) => (false, file.exists(), error_diagnostics(e), Vec::new()),
        };
        output::json(&ValidateJson {
            path: file,
            exists,
            valid,
            errors,
            warnings,
        })?;
        return Ok(if valid { Exit::Success } else { Exit::Failure });
    }
    match result {
        Ok(loaded) => {
            for w in &loaded.warnings {
                output::warn(w);
            }
            if loaded.exists {
                output::out(format!(
                    "{} {}",
                    paint(GOOD, "Config valid:"),
                    ctx.show_path(file)
                ));
            } else {
                output::out(format!(
                    "{} no file at {} yet (an empty config; `openclaw config set` creates it)",
                    paint(GOOD, "Config valid:"),
                    ctx.show_path(file)
                ));
            }
            Ok(Exit::Success)
        }
        Err(e) => Err(e.into()),
    }
}

/// `openclaw config validate --json`.
#[derive(Serialize)]
struct ValidateJson<'a> {
    path: &'a std::path::Path,
    exists: bool,
    valid: bool,
    errors: Vec<ErrorJson>,
    warnings: Vec<Diagnostic>,
}

/// One error of `config validate --json`: located in the file when it can be.
#[derive(Serialize)]
#[serde(untagged)]
enum ErrorJson {
    Located(Diagnostic),
    Unlocated { severity: Severity, message: String },
}

/// Errors as structured diagnostics for `--json`.
fn error_diagnostics(e: &ConfigError) -> Vec<ErrorJson> {
    let located = |path: &str, origin: &str, line: usize, column: usize, message: String| {
        ErrorJson::Located(Diagnostic {
            severity: Severity::Error,
            path: path.to_owned(),
            origin: origin.to_owned(),
            line,
            column,
            message,
            hint: None,
        })
    };
    match e {
        ConfigError::Invalid { diagnostics, .. } => diagnostics
            .iter()
            .cloned()
            .map(ErrorJson::Located)
            .collect(),
        ConfigError::Syntax {
            origin,
            line,
            column,
            message,
        } => vec![located("", origin, *line, *column, message.clone())],
        ConfigError::MissingEnvVar {
            var,
            key_path,
            origin,
            line,
            column,
        } => vec![located(
            key_path,
            origin,
            *line,
            *column,
            format!("environment variable `{var}` is not set"),
        )],
        other => vec![ErrorJson::Unlocated {
            severity: Severity::Error,
            message: other.to_string(),
        }],
    }
}

/// Keys whose string values are secrets.
const SECRET_KEYS: &[&str] = &[
    "apikey",
    "token",
    "password",
    "secret",
    "key",
    "accesstoken",
    "refreshtoken",
    "bottoken",
    "webhooktoken",
    "passphrase",
];

/// Header names that carry credentials (provider `headers`).
const SECRET_HEADERS: &[&str] = &["authorization", "proxyauthorization", "cookie", "xapikey"];

/// Whether a value under `key` is a secret: the keys above, credential headers, and any name
/// ending in `apiKey`, `token`, `secret` or `password` (`X-Api-Key`, `botToken`, `clientSecret`),
/// compared without case, `-` and `_`.
fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str())
        || SECRET_HEADERS.contains(&k.as_str())
        || ["apikey", "token", "secret", "password"]
            .iter()
            .any(|end| k.ends_with(end))
}

/// A reference to a secret (`${VAR}` or an environment variable's name) is not itself secret.
fn is_reference(s: &str) -> bool {
    let env_name = s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    env_name || (s.starts_with("${") && s.ends_with('}'))
}

/// `value` with secret strings replaced; `key` is the name the value sits under, if any.
pub fn redact(value: &Value, key: Option<&str>) -> Value {
    match value {
        Value::String(s) if key.is_some_and(is_secret_key) && !is_reference(s) && !s.is_empty() => {
            Value::String(format!("<redacted: {} characters>", s.chars().count()))
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact(v, Some(k))))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, key)).collect()),
        other => other.clone(),
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_but_references_are_shown() {
        let v = json!({"apiKey": "sk-123", "baseUrl": "http://x", "nested": {"token": "t"}, "env": {"apiKey": "OLLAMA_API_KEY"}, "ref": {"apiKey": "${MY_KEY}"}});
        let r = redact(&v, None);
        assert_eq!(r["apiKey"], "<redacted: 6 characters>");
        assert_eq!(r["baseUrl"], "http://x");
        assert_eq!(r["nested"]["token"], "<redacted: 1 characters>");
        assert_eq!(r["env"]["apiKey"], "OLLAMA_API_KEY");
        assert_eq!(r["ref"]["apiKey"], "${MY_KEY}");
        assert_eq!(
            redact(&json!("ollama-local"), Some("apiKey")),
            json!("<redacted: 12 characters>")
        );
    }
}
