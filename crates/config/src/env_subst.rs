//! `${VAR}` substitution in config strings, done at load time.
//!
//! OpenClaw lets users keep secrets out of the file (`apiKey: "${OLLAMA_API_KEY}"`). Only
//! upper-case names are substituted, so ordinary text with a dollar sign is left alone, and
//! `$${VAR}` writes a literal `${VAR}`. A missing variable is an error that names it and the
//! key that used it, because silently sending an empty key is much harder to debug.

use serde_json::{Map, Value};

use crate::document::{Node, NodeKind};
use crate::env::Env;
use crate::ConfigError;

/// Converts `node` to plain JSON, substituting `${VAR}` in every string value.
pub fn resolve(
    node: &Node,
    env: &Env,
    origin: &str,
    line_col: &dyn Fn(usize) -> (usize, usize),
) -> Result<Value, ConfigError> {
    let mut path = String::new();
    walk(node, env, &mut path, &|offset, var, path| {
        let (line, column) = line_col(offset);
        ConfigError::MissingEnvVar {
            var: var.to_string(),
            key_path: path.to_string(),
            origin: origin.to_string(),
            line,
            column,
        }
    })
}

type MakeError<'a> = &'a dyn Fn(usize, &str, &str) -> ConfigError;

fn walk(
    node: &Node,
    env: &Env,
    path: &mut String,
    err: MakeError<'_>,
) -> Result<Value, ConfigError> {
    Ok(match &node.kind {
        NodeKind::String(s) => {
            Value::String(substitute(s, env).map_err(|var| err(node.span.start, &var, path))?)
        }
        NodeKind::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(walk(item, env, path, err)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        NodeKind::Object(members) => {
            let mut map = Map::new();
            for m in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&m.key);
                map.insert(m.key.clone(), walk(&m.value, env, path, err)?);
                path.truncate(len);
            }
            Value::Object(map)
        }
        _ => node.to_value(),
    })
}

/// Substitutes `${VAR}` in one string; `Err(name)` for the first variable that is not set.
pub fn substitute(input: &str, env: &Env) -> Result<String, String> {
    substitute_with(input, |name| env.get(name))
}

/// The `${VAR}` names `input` uses, in order (escaped `$${VAR}`s are not uses).
pub fn variables_in(input: &str) -> Vec<String> {
    let mut names = Vec::new();
    let _ = substitute_with(input, |name| {
        names.push(name.to_string());
        Some(String::new())
    });
    names
}

fn substitute_with(
    input: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    if !input.contains('$') {
        return Ok(input.to_string());
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(name) = tail.strip_prefix("$${").and_then(var_name) {
            // Escaped: `$${VAR}` stands for the literal `${VAR}`.
            out.push_str(&format!("${{{name}}}"));
            rest = &tail[name.len() + 4..];
        } else if let Some(name) = tail.strip_prefix("${").and_then(var_name) {
            out.push_str(&lookup(name).ok_or_else(|| name.to_string())?);
            rest = &tail[name.len() + 3..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The upper-case variable name at the start of `s` when it is followed by `}`.
fn var_name(s: &str) -> Option<&str> {
    let end = s.find('}')?;
    let name = &s[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_uppercase() || first == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;

    fn env() -> Env {
        Env::from_vars([("OLLAMA_API_KEY", "ollama-local")])
    }

    #[test]
    fn substitutes_upper_case_variables() {
        assert_eq!(
            substitute("Bearer ${OLLAMA_API_KEY}!", &env()).unwrap(),
            "Bearer ollama-local!"
        );
    }

    #[test]
    fn escaped_and_lower_case_forms_are_literal() {
        assert_eq!(
            substitute("$${OLLAMA_API_KEY}", &env()).unwrap(),
            "${OLLAMA_API_KEY}"
        );
        assert_eq!(
            substitute("${home} costs $5", &env()).unwrap(),
            "${home} costs $5"
        );
        assert_eq!(substitute("${UNCLOSED", &env()).unwrap(), "${UNCLOSED");
    }

    #[test]
    fn variables_in_names_the_uses_only() {
        assert_eq!(
            variables_in("${A}:${B_2} $${ESCAPED} ${lower} ${A}"),
            vec!["A", "B_2", "A"]
        );
    }

    #[test]
    fn missing_variable_names_it_and_the_key() {
        let doc = Document::parse(
            "{\n  models: { providers: { x: { apiKey: '${NOPE_KEY}' } } }\n}",
            "c.json",
        )
        .unwrap();
        let err = resolve(doc.root().unwrap(), &env(), "c.json", &|o| doc.line_col(o))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.json:2:39: environment variable `NOPE_KEY` is not set (used in `models.providers.x.apiKey`)"), "{err}");
    }
}
