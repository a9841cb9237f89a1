//! Strict validation of `openclaw.json` against a declarative schema.
//!
//! serde's `deny_unknown_fields` would reject unknown keys, but it cannot say where they are
//! nor what the user meant, and it cannot tell "a key OpenClaw defines that we don't implement
//! yet" (load with a warning, so existing configs keep working) from a typo (an error with a
//! suggestion). So the schema is data ([`Shape`]) and [`validate`] walks the parsed
//! [`Node`] tree with it, collecting every finding with its line and column.

mod openclaw;

pub use openclaw::ROOT;

use crate::document::{Node, NodeKind};
use crate::error::{Diagnostic, Severity};

/// The expected form of a value.
#[derive(Debug)]
pub enum Shape {
    /// Anything at all (free-form maps such as model `params`).
    Any,
    String,
    Number,
    /// A non-negative whole number.
    Integer,
    Bool,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// One of `ours`; a value in `theirs` is one the original OpenClaw accepts but we don't
    /// implement yet: it loads with a warning.
    EnumWithKnown {
        ours: &'static [&'static str],
        theirs: &'static [&'static str],
    },
    Array(&'static Shape),
    /// An object with exactly these keys.
    Object(&'static [Field]),
    /// An object with arbitrary keys, every value of this shape.
    Record(&'static Shape),
    /// The first alternative whose kind matches the value.
    OneOf(&'static [Shape]),
    /// Defined by the original OpenClaw, not implemented here yet: kept, ignored, warned about.
    Known,
}

/// One key of an object shape.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
}

/// An optional key.
pub const fn field(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
    }
}

/// A key that must be present.
pub const fn required(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
    }
}

/// Checks a whole document; returns errors and warnings in document order.
pub fn validate(
    root: &Node,
    origin: &str,
    line_col: &dyn Fn(usize) -> (usize, usize),
) -> Vec<Diagnostic> {
    let mut v = Validator {
        origin,
        line_col,
        out: Vec::new(),
    };
    v.check(root, &ROOT, &mut String::new());
    v.out
}

struct Validator<'a> {
    origin: &'a str,
    line_col: &'a dyn Fn(usize) -> (usize, usize),
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn push(
        &mut self,
        severity: Severity,
        path: &str,
        offset: usize,
        message: String,
        hint: Option<String>,
    ) {
        let (line, column) = (self.line_col)(offset);
        self.out.push(Diagnostic {
            severity,
            path: path.to_string(),
            origin: self.origin.to_string(),
            line,
            column,
            message,
            hint,
        });
    }

    fn type_error(&mut self, node: &Node, path: &str, expected: &str) {
        let shown = if path.is_empty() { "the config" } else { path };
        let message = format!("`{shown}` must be {expected}, found {}", describe(node));
        self.push(Severity::Error, path, node.span.start, message, None);
    }

    fn check(&mut self, node: &Node, shape: &Shape, path: &mut String) {
        match (shape, &node.kind) {
            (Shape::Any, _) | (Shape::Known, _) => {}
            (Shape::String, NodeKind::String(_)) | (Shape::Bool, NodeKind::Bool(_)) => {}
            (Shape::Number, NodeKind::Number(_)) => {}
            (Shape::Integer, NodeKind::Number(n)) if n.is_u64() => {}
            (Shape::Enum(allowed), NodeKind::String(s)) if allowed.contains(&s.as_str()) => {}
            (Shape::EnumWithKnown { ours, .. }, NodeKind::String(s))
                if ours.contains(&s.as_str()) => {}
            (Shape::EnumWithKnown { ours, theirs }, NodeKind::String(s))
                if theirs.contains(&s.as_str()) =>
            {
                let message = format!("`{path}: \"{s}\"` is an OpenClaw setting openclaw-rs does not implement yet; it is ignored");
                let hint = format!("openclaw-rs accepts {} here", list(ours));
                self.push(
                    Severity::Warning,
                    path,
                    node.span.start,
                    message,
                    Some(hint),
                );
            }
            (Shape::Enum(allowed), NodeKind::String(s))
            | (Shape::EnumWithKnown { ours: allowed, .. }, NodeKind::String(s)) => {
                let hint =
                    closest(s, allowed.iter().copied()).map(|c| format!("did you mean `{c}`?"));
                let message = format!("`{path}` must be one of {}, found \"{s}\"", list(allowed));
                self.push(Severity::Error, path, node.span.start, message, hint);
            }
            (Shape::Array(item), NodeKind::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    self.check(child, item, path);
                    path.truncate(len);
                }
            }
            (Shape::Record(value), NodeKind::Object(members)) => {
                for m in members {
                    let len = path.len();
                    push_key(path, &m.key);
                    self.check(&m.value, value, path);
                    path.truncate(len);
                }
            }
            (Shape::Object(fields), NodeKind::Object(members)) => {
                self.check_object(node, fields, members, path)
            }
            (Shape::OneOf(alternatives), _) => {
                match alternatives.iter().find(|alt| kind_matches(alt, node)) {
                    Some(alt) => self.check(node, alt, path),
                    None => {
                        let expected: Vec<_> = alternatives.iter().map(expected_name).collect();
                        self.type_error(node, path, &expected.join(" or "));
                    }
                }
            }
            (shape, _) => self.type_error(node, path, expected_name(shape)),
        }
    }

    fn check_object(
        &mut self,
        node: &Node,
        fields: &[Field],
        members: &[crate::document::Member],
        path: &mut String,
    ) {
        for m in members {
            let len = path.len();
            push_key(path, &m.key);
            match fields.iter().find(|f| f.name == m.key) {
                Some(f) if matches!(f.shape, Shape::Known) => {
                    let message = format!("`{path}` is an OpenClaw setting openclaw-rs does not implement yet; it is kept but ignored");
                    self.push(Severity::Warning, path, m.key_span.start, message, None);
                }
                Some(f) => self.check(&m.value, &f.shape, path),
                None => {
                    let hint = closest(&m.key, fields.iter().map(|f| f.name))
                        .map(|c| format!("did you mean `{c}`?"))
                        .or_else(|| Some(format!("valid keys here: {}", list_fields(fields))));
                    let message = format!("unknown key `{path}`");
                    self.push(Severity::Error, path, m.key_span.start, message, hint);
                }
            }
            path.truncate(len);
        }
        for f in fields.iter().filter(|f| f.required) {
            if !members.iter().any(|m| m.key == f.name) {
                let shown = if path.is_empty() {
                    "the config".to_string()
                } else {
                    format!("`{path}`")
                };
                let message = format!("{shown} is missing the required key `{}`", f.name);
                self.push(Severity::Error, path, node.span.start, message, None);
            }
        }
    }
}

fn kind_matches(shape: &Shape, node: &Node) -> bool {
    matches!(
        (shape, &node.kind),
        (Shape::Any | Shape::Known, _)
            | (
                Shape::String | Shape::Enum(_) | Shape::EnumWithKnown { .. },
                NodeKind::String(_)
            )
            | (Shape::Number | Shape::Integer, NodeKind::Number(_))
            | (Shape::Bool, NodeKind::Bool(_))
            | (Shape::Array(_), NodeKind::Array(_))
            | (Shape::Object(_) | Shape::Record(_), NodeKind::Object(_))
    )
}

fn expected_name(shape: &Shape) -> &'static str {
    match shape {
        Shape::Any | Shape::Known => "any value",
        Shape::String | Shape::Enum(_) | Shape::EnumWithKnown { .. } => "a string",
        Shape::Number => "a number",
        Shape::Integer => "a whole number (0 or more)",
        Shape::Bool => "true or false",
        Shape::Array(_) => "an array",
        Shape::Object(_) | Shape::Record(_) => "an object",
        Shape::OneOf(_) => "one of several forms",
    }
}

fn describe(node: &Node) -> String {
    match &node.kind {
        NodeKind::String(s) if s.len() <= 40 => format!("string \"{s}\""),
        NodeKind::Number(n) => format!("number {n}"),
        NodeKind::Bool(b) => format!("{b}"),
        _ => node.kind_name().to_string(),
    }
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", serde_json::Value::from(key)));
    }
}

fn list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_fields(fields: &[Field]) -> String {
    let mut names: Vec<_> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
    if names.len() > 12 {
        names.truncate(12);
        names.push("…".to_string());
    }
    names.join(", ")
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .map(|c| {
            let score = strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase());
            (score, c)
        })
        .filter(|(score, c)| *score <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(score, _)| *score)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;

    fn diagnostics(text: &str) -> Vec<Diagnostic> {
        let doc = Document::parse(text, "openclaw.json").unwrap();
        validate(doc.root().unwrap(), "openclaw.json", &|o| doc.line_col(o))
    }

    #[test]
    fn misspelt_top_level_key_suggests_the_real_one() {
        let d = diagnostics("{\n  modles: {}\n}");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!((d[0].line, d[0].column), (2, 3));
        assert_eq!(d[0].hint.as_deref(), Some("did you mean `models`?"));
    }

    #[test]
    fn nested_typo_names_the_whole_path() {
        let d = diagnostics("{ models: { providers: { ollama: { baseURL: 'x' } } } }");
        assert_eq!(d[0].path, "models.providers.ollama.baseURL");
        assert_eq!(d[0].hint.as_deref(), Some("did you mean `baseUrl`?"));
    }

    #[test]
    fn wrong_type_is_an_error_with_position() {
        let d = diagnostics("{\n gateway: { port: 'abc' } }");
        assert_eq!(
            d[0].message,
            "`gateway.port` must be a whole number (0 or more), found string \"abc\""
        );
        assert_eq!((d[0].line, d[0].column), (2, 19));
    }

    #[test]
    fn original_keys_we_do_not_implement_warn() {
        let d = diagnostics("{ channels: { telegram: { enabled: true } } }");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(d[0].message.contains("does not implement yet"));
    }

    #[test]
    fn model_accepts_string_or_object_with_either_fallback_spelling() {
        assert!(diagnostics("{ agents: { defaults: { model: 'ollama/llama3.3' } } }").is_empty());
        assert!(diagnostics(
            "{ agents: { defaults: { model: { primary: 'a/b', fallback: ['c/d'] } } } }"
        )
        .is_empty());
        assert!(diagnostics(
            "{ agents: { defaults: { model: { primary: 'a/b', fallbacks: ['c/d'] } } } }"
        )
        .is_empty());
        let d = diagnostics("{ agents: { defaults: { model: 3 } } }");
        assert!(
            d[0].message.contains("a string or an object"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn model_definition_requires_an_id() {
        let d = diagnostics("{ models: { providers: { x: { models: [ { name: 'n' } ] } } } }");
        assert!(
            d[0].message.contains("missing the required key `id`"),
            "{}",
            d[0].message
        );
        assert_eq!(d[0].path, "models.providers.x.models[0]");
    }

    #[test]
    fn enum_typo_suggests() {
        let d = diagnostics("{ models: { providers: { x: { api: 'openai-completion' } } } }");
        assert_eq!(
            d[0].hint.as_deref(),
            Some("did you mean `openai-completions`?")
        );
    }

    #[test]
    fn closest_ignores_far_words() {
        assert_eq!(closest("zzzzzz", ["models", "agents"].into_iter()), None);
        assert_eq!(
            closest("agnets", ["models", "agents"].into_iter()),
            Some("agents")
        );
    }
}
