//! A parsed `openclaw.json` that remembers where every value came from.
//!
//! Validation errors must point at `file:line:column`, and `openclaw config set` must change
//! one value without disturbing the user's comments and layout. Both need byte positions, so
//! the file is parsed once (JSON5, via `jsonc-parser`) into an owned tree of [`Node`]s with
//! spans into the original text. Edits splice that text (see `edit.rs`) and re-parse it, so
//! what a write produces is exactly what the loader reads.

use std::ops::Range;

use jsonc_parser::ast;
use jsonc_parser::{CollectOptions, ParseOptions};
use serde_json::{Map, Number, Value};

use crate::ConfigError;

/// One value of the document, with the byte range it occupies in the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: NodeKind,
}

/// The JSON5 value kinds a config can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

/// `key: value` inside an object; `span` covers both.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Range<usize>,
    pub span: Range<usize>,
    pub value: Node,
}

impl Node {
    /// A short, user-facing name for the kind of value ("string", "object", …).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Number(_) => "number",
            NodeKind::String(_) => "string",
            NodeKind::Array(_) => "array",
            NodeKind::Object(_) => "object",
        }
    }

    /// The member called `key`, when this node is an object that has it.
    pub fn member(&self, key: &str) -> Option<&Member> {
        match &self.kind {
            NodeKind::Object(members) => members.iter().find(|m| m.key == key),
            _ => None,
        }
    }

    /// Plain JSON value of this node (positions dropped).
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Number(n) => Value::Number(n.clone()),
            NodeKind::String(s) => Value::String(s.clone()),
            NodeKind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Object(members) => {
                let mut map = Map::new();
                for m in members {
                    // Later duplicates win, as in JavaScript's JSON5.parse.
                    map.insert(m.key.clone(), m.value.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// Source text plus its parsed tree.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    root: Option<Node>,
    lines: LineIndex,
}

impl Document {
    /// Parses JSON5 text. An empty (or comment-only) text is an empty config.
    pub fn parse(text: impl Into<String>, origin: &str) -> Result<Self, ConfigError> {
        let text = text.into();
        let lines = LineIndex::new(&text);
        let (folded, products) = fold_integer_products(&text).map_err(|(offset, message)| {
            let (line, column) = lines.line_col(&text, offset);
            ConfigError::Syntax {
                origin: origin.to_string(),
                line,
                column,
                message,
            }
        })?;
        let options = ParseOptions {
            // JSON5 requires commas; accepting their absence would hide typos.
            allow_missing_commas: false,
            ..ParseOptions::default()
        };
        let parsed = jsonc_parser::parse_to_ast(&folded, &CollectOptions::default(), &options)
            .map_err(|e| {
                let (line, column) = lines.line_col(&text, e.range().start);
                ConfigError::Syntax {
                    origin: origin.to_string(),
                    line,
                    column,
                    message: e.kind().to_string(),
                }
            })?;
        let root = match parsed.value {
            None => None,
            Some(value) => Some(convert(value, &products).map_err(|(offset, message)| {
                let (line, column) = lines.line_col(&text, offset);
                ConfigError::Syntax {
                    origin: origin.to_string(),
                    line,
                    column,
                    message,
                }
            })?),
        };
        Ok(Self { text, root, lines })
    }

    /// The original text, comments and all.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The root value; `None` for an empty file.
    pub fn root(&self) -> Option<&Node> {
        self.root.as_ref()
    }

    /// The whole document as plain JSON (`{}` when empty).
    pub fn to_value(&self) -> Value {
        self.root
            .as_ref()
            .map(Node::to_value)
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, offset)
    }
}

/// Maps byte offsets to 1-based line/column pairs.
#[derive(Debug, Clone)]
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line, column + 1)
    }
}

/// `products`: the byte ranges of the folded `a * b` expressions, in order. A number parsed
/// from one spans the whole expression, so an edit replaces all of it, not just its first digits.
fn convert(value: ast::Value<'_>, products: &[Range<usize>]) -> Result<Node, (usize, String)> {
    Ok(match value {
        ast::Value::NullKeyword(n) => node(n.range, NodeKind::Null),
        ast::Value::BooleanLit(b) => node(b.range, NodeKind::Bool(b.value)),
        ast::Value::StringLit(s) => node(s.range, NodeKind::String(s.value.into_owned())),
        ast::Value::NumberLit(n) => {
            let number = parse_number(n.value).ok_or_else(|| {
                (
                    n.range.start,
                    format!("`{}` is not a finite number", n.value),
                )
            })?;
            let start = n.range.start;
            // The product starts after the sign of a signed literal (`-68*2`).
            let first = products.partition_point(|r| r.start < start);
            let end = products
                .get(first)
                .filter(|r| r.start <= start + 1 && r.start < n.range.end)
                .map_or(n.range.end, |r| r.end.max(n.range.end));
            Node {
                span: start..end,
                kind: NodeKind::Number(number),
            }
        }
        ast::Value::Array(a) => {
            let items = a
                .elements
                .into_iter()
                .map(|v| convert(v, products))
                .collect::<Result<_, _>>()?;
            node(a.range, NodeKind::Array(items))
        }
        ast::Value::Object(o) => {
            let mut members = Vec::with_capacity(o.properties.len());
            for prop in o.properties {
                let key_range = match &prop.name {
                    ast::ObjectPropName::String(s) => s.range,
                    ast::ObjectPropName::Word(w) => w.range,
                };
                let value = convert(prop.value, products)?;
                members.push(Member {
                    key: prop.name.into_string(),
                    key_span: key_range.start..key_range.end,
                    span: prop.range.start..prop.range.end.max(value.span.end),
                    value,
                });
            }
            node(o.range, NodeKind::Object(members))
        }
    })
}

fn node(range: jsonc_parser::common::Range, kind: NodeKind) -> Node {
    Node {
        span: range.start..range.end,
        kind,
    }
}

/// Parses a JSON5 number literal (decimal, hex, leading `+`, bare decimal point).
fn parse_number(raw: &str) -> Option<Number> {
    let (negative, digits) = match raw.as_bytes().first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        let v = u64::from_str_radix(hex, 16).ok()?;
        return Some(if negative {
            Number::from(-(i64::try_from(v).ok()?))
        } else {
            Number::from(v)
        });
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) && !digits.is_empty() {
        if negative {
            if let Ok(v) = format!("-{digits}").parse::<i64>() {
                return Some(Number::from(v));
            }
        } else if let Ok(v) = digits.parse::<u64>() {
            return Some(Number::from(v));
        }
    }
    let v: f64 = digits.parse().ok()?;
    let v = if negative { -v } else { v };
    // `19001.0` and `128e3` are whole numbers: store them as integers so that integer-typed
    // keys accept them, as JavaScript (and so the original OpenClaw) does.
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        return Some(if v >= 0.0 {
            Number::from(v as u64)
        } else {
            Number::from(v as i64)
        });
    }
    Number::from_f64(v)
}

/// The text with its products folded, and where they were.
pub(crate) type Folded = (String, Vec<Range<usize>>);

/// Replaces products of integer literals (`8192 * 10`) by their value, padded with spaces to the
/// same length so that every byte offset in the text stays valid. Also returns where the
/// products were (ascending), since the parser only sees the value's digits.
///
/// The explicit config on OpenClaw's Ollama page says `maxTokens: 8192 * 10`, which the original accepts
/// because its config is evaluated as JavaScript. Users paste it as is, so we accept exactly
/// this form: integer literals joined by `*`, nothing more general.
pub(crate) fn fold_integer_products(text: &str) -> Result<Folded, (usize, String)> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut products = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => i = skip_string(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'0'..=b'9' if i == 0 || !is_word_byte(bytes[i - 1]) => {
                let start = i;
                let (mut product, mut end) = match read_int(bytes, i) {
                    Some(v) => v,
                    None => {
                        i += 1;
                        continue;
                    }
                };
                let mut factors = 1;
                loop {
                    let mut j = skip_spaces(bytes, end);
                    if bytes.get(j) != Some(&b'*') {
                        break;
                    }
                    j = skip_spaces(bytes, j + 1);
                    let Some((factor, next)) = read_int(bytes, j) else {
                        break;
                    };
                    product = product
                        .checked_mul(factor)
                        .ok_or_else(|| (start, format!("`{}` is too large", &text[start..next])))?;
                    end = next;
                    factors += 1;
                }
                if factors > 1 {
                    let folded = out.get_or_insert_with(|| text.to_string());
                    let value = product.to_string();
                    // A product has at most as many digits as its factors together, and the
                    // expression also holds at least one `*`, so the value always fits.
                    let padded = format!("{value:<width$}", width = end - start);
                    folded.replace_range(start..end, &padded);
                    products.push(start..end);
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    Ok((out.unwrap_or_else(|| text.to_string()), products))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.'
}

fn read_int(bytes: &[u8], start: usize) -> Option<(u64, usize)> {
    let mut end = start;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end == start || bytes.get(end).is_some_and(|&b| is_word_byte(b)) {
        return None;
    }
    let digits = std::str::from_utf8(&bytes[start..end]).ok()?;
    Some((digits.parse().ok()?, end))
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Document {
        Document::parse(text, "test.json5").unwrap()
    }

    #[test]
    fn json5_forms_all_parse() {
        let doc = parse(
            "// top\n{\n  unquoted: 'single',\n  \"q\": 0x1F, plus: +3, half: .5,\n  /* c */ list: [1, 2,],\n}\n",
        );
        assert_eq!(
            doc.to_value(),
            serde_json::json!({"unquoted": "single", "q": 31, "plus": 3, "half": 0.5, "list": [1, 2]})
        );
    }

    #[test]
    fn whole_floats_are_integers() {
        let doc = parse("{ a: 19001.0, b: 128e3, c: 1.5, d: -2.0 }");
        assert_eq!(
            doc.to_value(),
            serde_json::json!({"a": 19001, "b": 128000, "c": 1.5, "d": -2})
        );
        assert!(doc.to_value()["a"].is_u64());
    }

    #[test]
    fn seed_product_is_a_number_and_positions_survive() {
        let text = "{\n  contextWindow: 8192,\n  maxTokens: 8192 * 10,\n  after: true\n}";
        let doc = parse(text);
        assert_eq!(doc.to_value()["maxTokens"], serde_json::json!(81920));
        let root = doc.root().unwrap();
        let after = root.member("after").unwrap();
        assert_eq!(&text[after.key_span.clone()], "after");
        assert_eq!(doc.line_col(after.key_span.start), (4, 3));
        // The original text is kept as written.
        assert!(doc.text().contains("8192 * 10"));
    }

    #[test]
    fn products_inside_strings_and_comments_are_left_alone() {
        let doc = parse("{ a: '2 * 3', // 4 * 5\n b: 2*3*7 }");
        assert_eq!(doc.to_value(), serde_json::json!({"a": "2 * 3", "b": 42}));
    }

    #[test]
    fn a_product_is_only_integers() {
        let err = Document::parse("{ a: 2 * x }", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f:1:8"), "{err}");
        let err = Document::parse("{ a: 1.5 * 2 }", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f:1:"), "{err}");
    }

    #[test]
    fn overflowing_product_is_an_error_not_a_panic() {
        let err = Document::parse("{ a: 99999999999 * 99999999999 }", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = Document::parse("{\n  a: 1\n  b: 2\n}", "cfg.json")
            .unwrap_err()
            .to_string();
        // Reported right after the value that lacks its comma.
        assert!(
            err.starts_with("cfg.json:2:7: invalid JSON5: Expected comma"),
            "{err}"
        );
    }

    #[test]
    fn empty_and_comment_only_files_are_empty_configs() {
        assert_eq!(parse("").to_value(), serde_json::json!({}));
        assert_eq!(parse("// nothing yet\n").to_value(), serde_json::json!({}));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let doc = parse("{ 'é': 1, b: 2 }");
        let b = doc.root().unwrap().member("b").unwrap();
        assert_eq!(doc.line_col(b.key_span.start), (1, 11));
    }
}
