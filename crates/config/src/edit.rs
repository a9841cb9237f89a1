//! `config get/set/unset` paths, and edits that keep the user's comments and layout.
//!
//! The original OpenClaw rewrites the whole file on `config set`, dropping comments. Here an
//! edit replaces, inserts or removes only the bytes of the value it touches (found through the
//! spans of [`Document`]); everything else in the file stays byte-for-byte the same.

use serde_json::Value;

use crate::document::{Document, Member, Node, NodeKind};
use crate::ConfigError;

/// One step of a config path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed path such as `models.providers.ollama.apiKey`, `a.b[0].c` or
/// `agents.defaults.models["ollama/llama3.3"].alias`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath {
    raw: String,
    segments: Vec<Segment>,
}

impl ConfigPath {
    /// Parses the dot/bracket syntax.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let bad = |reason: &str| ConfigError::BadPath {
            path: raw.to_string(),
            reason: reason.to_string(),
        };
        let mut segments = Vec::new();
        let chars: Vec<char> = raw.trim().chars().collect();
        let mut i = 0;
        let mut expect_key = true;
        while i < chars.len() {
            match chars[i] {
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| bad("`[` without a closing `]`"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    let quoted = inner.len() >= 2
                        && ((inner.starts_with('"') && inner.ends_with('"'))
                            || (inner.starts_with('\'') && inner.ends_with('\'')));
                    if quoted {
                        segments.push(Segment::Key(inner[1..inner.len() - 1].to_string()));
                    } else {
                        let index = inner.parse::<usize>().map_err(|_| {
                            bad(&format!("`[{inner}]` is neither an index nor a quoted key"))
                        })?;
                        segments.push(Segment::Index(index));
                    }
                    i = close + 1;
                    expect_key = false;
                }
                '.' => {
                    if expect_key {
                        return Err(bad("empty key (two dots, or a leading dot)"));
                    }
                    i += 1;
                    expect_key = true;
                }
                _ => {
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    segments.push(Segment::Key(chars[start..i].iter().collect()));
                    expect_key = false;
                }
            }
        }
        if segments.is_empty() || expect_key {
            return Err(bad(if segments.is_empty() {
                "the path is empty"
            } else {
                "the path ends with a dot"
            }));
        }
        Ok(Self {
            raw: raw.trim().to_string(),
            segments,
        })
    }

    /// The path as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The last key of the path, if it ends with one.
    pub fn last_key(&self) -> Option<&str> {
        match self.segments.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }
}

/// Parses a `config set` value: JSON5 when it parses as such, else the plain string.
///
/// `set gateway.port 19001` stores a number, `set x true` a boolean, `set x '[1,2]'` an array,
/// and `set models.providers.ollama.apiKey ollama-local` a string.
pub fn parse_cli_value(raw: &str) -> Value {
    match Document::parse(raw, "value") {
        Ok(doc) if doc.root().is_some() => doc.to_value(),
        _ => Value::String(raw.to_string()),
    }
}

/// The node at `path`, if present.
pub fn get<'a>(doc: &'a Document, path: &ConfigPath) -> Option<&'a Node> {
    let mut node = doc.root()?;
    for seg in path.segments() {
        node = child(node, seg)?;
    }
    Some(node)
}

fn child<'a>(node: &'a Node, seg: &Segment) -> Option<&'a Node> {
    match (seg, &node.kind) {
        (Segment::Key(k), NodeKind::Object(members)) => {
            members.iter().rev().find(|m| &m.key == k).map(|m| &m.value)
        }
        (Segment::Index(i), NodeKind::Array(items)) => items.get(*i),
        _ => None,
    }
}

/// How deeply an edit may nest values: far beyond any real config, well within what the parser
/// reads back (512).
pub const MAX_NESTING: usize = 256;

/// Objects and arrays inside each other in `value`.
fn nesting(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// The text of `doc` with `path` set to `value`.
pub fn set(doc: &Document, path: &ConfigPath, value: &Value) -> Result<String, ConfigError> {
    // Every step of the path is an object or array around the value.
    let depth = path.segments.len() + nesting(value);
    if depth > MAX_NESTING {
        return Err(ConfigError::BadPath {
            path: path.raw.clone(),
            reason: format!(
                "the value would be nested {depth} levels deep; at most {MAX_NESTING} are allowed"
            ),
        });
    }
    let text = doc.text();
    let style = Style::detect(doc);
    let Some(root) = doc.root() else {
        // Empty file: write the whole nested object.
        let nested = nest(&path.segments, value)?;
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&style.render(&nested, ""));
        out.push('\n');
        return Ok(out);
    };
    let mut node = root;
    let mut parent_path = String::new();
    for (depth, seg) in path.segments.iter().enumerate() {
        if let Some(next) = child(node, seg) {
            node = next;
            append_display(&mut parent_path, seg);
            continue;
        }
        let rest = &path.segments[depth + 1..];
        return match (seg, &node.kind) {
            (Segment::Key(key), NodeKind::Object(members)) => {
                let nested = nest(rest, value)?;
                Ok(insert_member(text, node, members, key, &nested, &style))
            }
            (Segment::Index(i), NodeKind::Array(items)) if *i == items.len() => {
                let nested = nest(rest, value)?;
                Ok(append_element(text, node, items, &nested, &style))
            }
            (Segment::Index(i), NodeKind::Array(items)) => Err(ConfigError::BadPath {
                path: path.raw.clone(),
                reason: format!(
                    "index {i} is past the end of `{parent_path}` ({} items); use [{}] to append",
                    items.len(),
                    items.len()
                ),
            }),
            (Segment::Index(_), NodeKind::Object(_)) => Err(ConfigError::BadPath {
                path: path.raw.clone(),
                reason: format!("`{parent_path}` is an object; use a key, not an index"),
            }),
            (Segment::Key(_), NodeKind::Array(_)) => Err(ConfigError::BadPath {
                path: path.raw.clone(),
                reason: format!("`{parent_path}` is an array; use an index such as [0]"),
            }),
            _ => Err(ConfigError::NotAContainer {
                path: path.raw.clone(),
                parent: parent_path,
                found: node.kind_name(),
            }),
        };
    }
    // The path exists: replace the value in place.
    let indent = line_indent(text, node.span.start);
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..node.span.start]);
    out.push_str(&style.render(value, &indent));
    out.push_str(&text[node.span.end..]);
    Ok(out)
}

/// The text of `doc` without `path`; `PathNotFound` when it is not set.
pub fn unset(doc: &Document, path: &ConfigPath) -> Result<String, ConfigError> {
    let not_found = || ConfigError::PathNotFound {
        path: path.raw.clone(),
    };
    let (last, parents) = path.segments.split_last().ok_or_else(not_found)?;
    let mut node = doc.root().ok_or_else(not_found)?;
    for seg in parents {
        node = child(node, seg).ok_or_else(not_found)?;
    }
    // The span to remove, where the value before it (if any) ends, and where the next one (or
    // the closing bracket) starts: its commas are somewhere in between.
    let close = node.span.end.saturating_sub(1);
    let (span, previous_end, next_start) = match (last, &node.kind) {
        (Segment::Key(k), NodeKind::Object(members)) => {
            let at = members
                .iter()
                .rposition(|m| &m.key == k)
                .ok_or_else(not_found)?;
            let previous = at.checked_sub(1).map(|p| members[p].span.end);
            let next = members.get(at + 1).map_or(close, |m| m.span.start);
            (members[at].span.clone(), previous, next)
        }
        (Segment::Index(i), NodeKind::Array(items)) => {
            let item = items.get(*i).ok_or_else(not_found)?;
            let previous = i.checked_sub(1).map(|p| items[p].span.end);
            let next = items.get(i + 1).map_or(close, |n| n.span.start);
            (item.span.clone(), previous, next)
        }
        _ => return Err(not_found()),
    };
    Ok(remove_span(doc.text(), span, previous_end, next_start))
}

/// Builds `{"a": {"b": value}}` for the part of a path that does not exist yet.
fn nest(rest: &[Segment], value: &Value) -> Result<Value, ConfigError> {
    let mut v = value.clone();
    for seg in rest.iter().rev() {
        v = match seg {
            Segment::Key(k) => {
                let mut map = serde_json::Map::new();
                map.insert(k.clone(), v);
                Value::Object(map)
            }
            Segment::Index(0) => Value::Array(vec![v]),
            Segment::Index(i) => {
                return Err(ConfigError::BadPath {
                    path: format!("[{i}]"),
                    reason: "a new array can only start at index [0]".to_string(),
                })
            }
        };
    }
    Ok(v)
}

fn append_display(path: &mut String, seg: &Segment) {
    match seg {
        Segment::Key(k) => {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
        }
        Segment::Index(i) => path.push_str(&format!("[{i}]")),
    }
}

/// How the file writes things, so inserted text looks like the rest.
struct Style {
    unit: String,
    quote_keys: bool,
    quote: char,
}

impl Style {
    fn detect(doc: &Document) -> Self {
        let text = doc.text();
        let mut style = Style {
            unit: "  ".to_string(),
            quote_keys: true,
            quote: '"',
        };
        let Some(root) = doc.root() else { return style };
        // Indentation unit: the indentation of the first member on its own line.
        if let NodeKind::Object(members) = &root.kind {
            if let Some(first) = members.first() {
                let indent = line_indent(text, first.span.start);
                let starts_line = text[..first.span.start]
                    .trim_end_matches([' ', '\t'])
                    .ends_with('\n');
                if starts_line && !indent.is_empty() {
                    style.unit = indent;
                }
                let k = &text[first.key_span.clone()];
                style.quote_keys = k.starts_with('"') || k.starts_with('\'');
                if k.starts_with('\'') {
                    style.quote = '\'';
                }
            }
        }
        if !style.quote_keys {
            if let Some(q) = first_string_quote(root, text) {
                style.quote = q;
            }
        }
        style
    }

    fn key(&self, key: &str) -> String {
        let ident = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        // jsonc-parser reads `null_x` or `true$` as a keyword and a word: quote keys that
        // start like a keyword.
        let keyword_like = ["null", "true", "false"].iter().any(|k| key.starts_with(k));
        if ident && !keyword_like && !self.quote_keys {
            key.to_string()
        } else {
            self.string(key)
        }
    }

    fn string(&self, s: &str) -> String {
        let json = Value::from(s).to_string();
        if self.quote == '\'' {
            let inner = &json[1..json.len() - 1];
            format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
        } else {
            json
        }
    }

    /// Renders a value; nested lines are indented from `indent`.
    fn render(&self, value: &Value, indent: &str) -> String {
        match value {
            Value::String(s) => self.string(s),
            Value::Array(items) if items.is_empty() => "[]".to_string(),
            Value::Object(map) if map.is_empty() => "{}".to_string(),
            Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
                let parts: Vec<_> = items.iter().map(|v| self.render(v, indent)).collect();
                format!("[{}]", parts.join(", "))
            }
            Value::Array(items) => {
                let inner = format!("{indent}{}", self.unit);
                let parts: Vec<_> = items
                    .iter()
                    .map(|v| format!("{inner}{}", self.render(v, &inner)))
                    .collect();
                format!("[\n{}\n{indent}]", parts.join(",\n"))
            }
            Value::Object(map) => {
                let inner = format!("{indent}{}", self.unit);
                let parts: Vec<_> = map
                    .iter()
                    .map(|(k, v)| format!("{inner}{}: {}", self.key(k), self.render(v, &inner)))
                    .collect();
                format!("{{\n{}\n{indent}}}", parts.join(",\n"))
            }
            other => other.to_string(),
        }
    }
}

fn first_string_quote(node: &Node, text: &str) -> Option<char> {
    match &node.kind {
        NodeKind::String(_) => text[node.span.clone()].chars().next(),
        NodeKind::Array(items) => items.iter().find_map(|n| first_string_quote(n, text)),
        NodeKind::Object(members) => members
            .iter()
            .find_map(|m| first_string_quote(&m.value, text)),
        _ => None,
    }
}

/// The whitespace at the start of the line holding `offset`.
fn line_indent(text: &str, offset: usize) -> String {
    let start = text[..offset].rfind('\n').map_or(0, |p| p + 1);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Where the line holding `offset` ends: at its `\n`, or at a lone `\r`, which also ends a
/// `//` comment for the parser (old Mac line ends).
fn line_end(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    (offset..bytes.len())
        .find(|&i| bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .unwrap_or(text.len())
}

/// What follows a member on its line: (has a comma, nothing else but a comment).
fn after_on_line(text: &str, end: usize) -> (bool, bool) {
    let rest = text[end..line_end(text, end)].trim_start();
    let (comma, rest) = match rest.strip_prefix(',') {
        Some(r) => (true, r.trim_start()),
        None => (false, rest),
    };
    (comma, rest.is_empty() || rest.starts_with("//"))
}

fn insert_member(
    text: &str,
    object: &Node,
    members: &[Member],
    key: &str,
    value: &Value,
    style: &Style,
) -> String {
    let mut out = text.to_string();
    match members.last() {
        Some(last) => {
            let (has_comma, alone) = after_on_line(text, last.span.end);
            let multiline = text[object.span.start..last.span.start].contains('\n');
            if multiline && alone {
                let indent = line_indent(text, last.span.start);
                let entry = format!("{}: {}", style.key(key), style.render(value, &indent));
                let eol = line_end(text, last.span.end);
                let trailing = if has_comma { "," } else { "" };
                out.insert_str(eol, &format!("\n{indent}{entry}{trailing}"));
                if !has_comma {
                    out.insert(last.span.end, ',');
                }
            } else {
                let indent = line_indent(text, object.span.start);
                let entry = format!("{}: {}", style.key(key), style.render(value, &indent));
                out.insert_str(last.span.end, &format!(", {entry}"));
            }
        }
        None => {
            let base = line_indent(text, object.span.start);
            let indent = format!("{base}{}", style.unit);
            let entry = format!("{}: {}", style.key(key), style.render(value, &indent));
            let open = object.span.start + 1;
            let body = &text[open..object.span.end - 1];
            if body.contains('\n') {
                out.insert_str(open, &format!("\n{indent}{entry}"));
            } else {
                // `{}` or `{ }`: rewrite the braces' content.
                out.replace_range(
                    open..object.span.end - 1,
                    &format!("\n{indent}{entry}\n{base}"),
                );
            }
        }
    }
    out
}

fn append_element(
    text: &str,
    array: &Node,
    items: &[Node],
    value: &Value,
    style: &Style,
) -> String {
    let mut out = text.to_string();
    let indent = line_indent(
        text,
        items.last().map_or(array.span.start, |n| n.span.start),
    );
    let rendered = style.render(value, &indent);
    match items.last() {
        Some(last) => {
            let multiline = text[array.span.start..last.span.start].contains('\n');
            let (has_comma, alone) = after_on_line(text, last.span.end);
            if multiline && alone {
                let eol = line_end(text, last.span.end);
                out.insert_str(
                    eol,
                    &format!("\n{indent}{rendered}{}", if has_comma { "," } else { "" }),
                );
                if !has_comma {
                    out.insert(last.span.end, ',');
                }
            } else {
                out.insert_str(last.span.end, &format!(", {rendered}"));
            }
        }
        None => out.replace_range(array.span.start + 1..array.span.end - 1, &rendered),
    }
    out
}

/// Removes a member or element, with its comma and, when it had the line(s) to itself, the
/// whole line(s). Its comma is the one before `next_start` (which may be on a later line, in
/// comma-first style), or else the one after `previous_end`.
fn remove_span(
    text: &str,
    span: std::ops::Range<usize>,
    previous_end: Option<usize>,
    next_start: usize,
) -> String {
    let line_start = text[..span.start].rfind('\n').map_or(0, |p| p + 1);
    let own_line = text[line_start..span.start].trim().is_empty();
    let (comma_on_line, alone) = after_on_line(text, span.end);
    let comma_after = comma_between(text, span.end, next_start);
    let mut out = text.to_string();
    if own_line && alone && (comma_on_line || comma_after.is_none()) {
        let eol = line_end(text, span.end);
        let end = if eol < text.len() { eol + 1 } else { eol };
        out.replace_range(line_start..end, "");
    } else if let Some(comma) = comma_after {
        let end = comma + 1;
        let end = end + text[end..].len() - text[end..].trim_start_matches([' ', '\t']).len();
        out.replace_range(span.start..end, "");
    } else if let Some(comma) = previous_end.and_then(|p| comma_between(text, p, span.start)) {
        // The last one: take the comma before it instead (not one in a comment).
        out.replace_range(comma..span.end, "");
    } else {
        out.replace_range(span, "");
    }
    out
}

/// The offset of the comma between two values, skipping comments (only whitespace, comments
/// and that comma can be there).
fn comma_between(text: &str, from: usize, to: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < to {
        match bytes[i] {
            b',' => return Some(i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < to && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < to && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(text: &str) -> Document {
        Document::parse(text, "t").unwrap()
    }

    fn set_text(text: &str, path: &str, value: Value) -> String {
        let out = set(&doc(text), &ConfigPath::parse(path).unwrap(), &value).unwrap();
        // Whatever we write must parse again.
        Document::parse(out.as_str(), "t").unwrap();
        out
    }

    #[test]
    fn path_syntax() {
        let p = ConfigPath::parse("a.b[0].c").unwrap();
        assert_eq!(
            p.segments(),
            &[
                Segment::Key("a".into()),
                Segment::Key("b".into()),
                Segment::Index(0),
                Segment::Key("c".into())
            ]
        );
        let p = ConfigPath::parse("agents.defaults.models[\"ollama/llama3.3\"].alias").unwrap();
        assert_eq!(p.segments()[3], Segment::Key("ollama/llama3.3".into()));
        for bad in ["", "a..b", ".a", "a.", "a[x]", "a[0"] {
            assert!(ConfigPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_values_are_json5_or_strings() {
        assert_eq!(parse_cli_value("19001"), json!(19001));
        assert_eq!(parse_cli_value("true"), json!(true));
        assert_eq!(parse_cli_value("ollama-local"), json!("ollama-local"));
        assert_eq!(parse_cli_value("\"quoted\""), json!("quoted"));
        assert_eq!(
            parse_cli_value("{primary: 'a/b'}"),
            json!({"primary": "a/b"})
        );
        assert_eq!(parse_cli_value("ollama/llama3.3"), json!("ollama/llama3.3"));
        assert_eq!(parse_cli_value("8192 * 10"), json!(81920));
        assert_eq!(parse_cli_value(""), json!(""));
    }

    #[test]
    fn set_into_empty_file_writes_nested_object() {
        let out = set_text("", "models.providers.ollama.apiKey", json!("ollama-local"));
        assert_eq!(
            out,
            "{\n  \"models\": {\n    \"providers\": {\n      \"ollama\": {\n        \"apiKey\": \"ollama-local\"\n      }\n    }\n  }\n}\n"
        );
    }

    #[test]
    fn replace_keeps_comments_and_layout() {
        let text = "// my config\n{\n  gateway: {\n    port: 18789, // default\n  },\n}\n";
        let out = set_text(text, "gateway.port", json!(19001));
        assert_eq!(
            out,
            "// my config\n{\n  gateway: {\n    port: 19001, // default\n  },\n}\n"
        );
    }

    #[test]
    fn insert_follows_the_file_style() {
        let text = "{\n  // models\n  agents: {\n    defaults: {\n      workspace: '~/ws'\n    }\n  }\n}\n";
        let out = set_text(
            text,
            "agents.defaults.model.primary",
            json!("ollama/llama3.3"),
        );
        assert_eq!(
            out,
            "{\n  // models\n  agents: {\n    defaults: {\n      workspace: '~/ws',\n      model: {\n        primary: 'ollama/llama3.3'\n      }\n    }\n  }\n}\n"
        );
    }

    #[test]
    fn insert_after_trailing_comma_and_comment() {
        let text = "{\n  a: 1, // one\n}\n";
        assert_eq!(
            set_text(text, "b", json!(2)),
            "{\n  a: 1, // one\n  b: 2,\n}\n"
        );
        let text = "{\n  a: 1 // one\n}\n";
        assert_eq!(
            set_text(text, "b", json!(2)),
            "{\n  a: 1, // one\n  b: 2\n}\n"
        );
    }

    #[test]
    fn insert_into_inline_and_empty_objects() {
        assert_eq!(
            set_text("{ a: 1 }", "b", json!("x")),
            "{ a: 1, b: 'x' }".replace('\'', "\"")
        );
        assert_eq!(set_text("{}", "b", json!(true)), "{\n  \"b\": true\n}");
        assert_eq!(
            set_text("{\n  gateway: {}\n}", "gateway.port", json!(1)),
            "{\n  gateway: {\n    port: 1\n  }\n}"
        );
    }

    #[test]
    fn arrays_append_and_replace() {
        let text = "{\n  list: [\n    'a',\n  ],\n}";
        assert_eq!(
            set_text(text, "list[1]", json!("b")),
            "{\n  list: [\n    'a',\n    'b',\n  ],\n}"
        );
        assert_eq!(
            set_text(text, "list[0]", json!("z")),
            "{\n  list: [\n    'z',\n  ],\n}"
        );
        assert_eq!(set_text("{ l: [] }", "l[0]", json!(1)), "{ l: [1] }");
        let err = set(
            &doc(text),
            &ConfigPath::parse("list[5]").unwrap(),
            &json!(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");
    }

    #[test]
    fn setting_below_a_scalar_is_an_error() {
        let err = set(
            &doc("{ a: 1 }"),
            &ConfigPath::parse("a.b").unwrap(),
            &json!(1),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot set `a.b`: `a` is number, not an object or array"
        );
    }

    #[test]
    fn unset_removes_whole_lines_and_keeps_the_rest() {
        let text = "{\n  // keep me\n  a: 1,\n  b: 2, // gone too\n  c: 3\n}\n";
        let out = unset(&doc(text), &ConfigPath::parse("b").unwrap()).unwrap();
        assert_eq!(out, "{\n  // keep me\n  a: 1,\n  c: 3\n}\n");
        let out = unset(&doc("{ a: 1, b: 2 }"), &ConfigPath::parse("b").unwrap()).unwrap();
        assert_eq!(out, "{ a: 1 }");
        let out = unset(&doc("{ a: 1, b: 2 }"), &ConfigPath::parse("a").unwrap()).unwrap();
        assert_eq!(out, "{ b: 2 }");
        assert!(matches!(
            unset(&doc("{ a: 1 }"), &ConfigPath::parse("z").unwrap()),
            Err(ConfigError::PathNotFound { .. })
        ));
    }

    #[test]
    fn products_elsewhere_survive_an_edit() {
        let text = "{\n  maxTokens: 8192 * 10,\n  x: 1\n}";
        assert_eq!(
            set_text(text, "x", json!(2)),
            "{\n  maxTokens: 8192 * 10,\n  x: 2\n}"
        );
    }
}
