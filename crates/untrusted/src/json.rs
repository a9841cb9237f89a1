//! A value budget for JSON read from the network.
//!
//! Byte caps on replies are not enough to bound memory once a reply is parsed into
//! `serde_json::Value`: every value costs a 32-byte enum plus the vectors and maps around it,
//! so a body of tiny values (`[0,0,0,…]`) grows about forty times when parsed — a 15 MiB line
//! became 600 MiB. Everything the client reads from a model server goes through here: the text
//! is scanned once (no allocation) and counted; past the budget it is refused before a single
//! value is built. Real payloads are far below it: the largest Ollama reply we know (`/api/show`
//! of a multimodal model) holds a few hundred values, a streamed chunk a few dozen.

use serde::de::DeserializeOwned;

/// Values allowed in one JSON document (one streamed record, one `/api/tags` reply…): at most
/// ~20 MiB of parsed values, and thousands of times what a real reply holds.
pub const MAX_VALUES: usize = 1 << 18;

/// Why a document was not parsed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("more than {limit} JSON values in one document (refused unparsed to bound memory; real replies hold a few hundred)")]
    TooManyValues { limit: usize },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// An upper bound of the number of values (object keys included) in `text`, or `None` once it
/// passes `limit`. Not a validator: counts the separators outside strings, so invalid JSON gets
/// a number too and is refused by the parser afterwards.
pub fn count_values(text: &[u8], limit: usize) -> Option<usize> {
    scan(text, limit, false).map(|(count, _)| count)
}

/// The length of the object or array `text` starts with (up to its closing bracket, so text
/// after it is never scanned), or `None` when it does not start with one, is not closed, or
/// passes `limit` values. Not a validator either: the parser still reads the span.
pub fn leading_container_len(text: &[u8], limit: usize) -> Option<usize> {
    if !matches!(text.first(), Some(b'{' | b'[')) {
        return None;
    }
    scan(text, limit, true).and_then(|(_, end)| end)
}

/// Counts values as [`count_values`] describes; with `stop_at_close`, stops where the first
/// container closes and returns its length as well.
fn scan(text: &[u8], limit: usize, stop_at_close: bool) -> Option<(usize, Option<usize>)> {
    let mut count = 1usize;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &byte) in text.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            // `[` and `{` open a container whose first element is counted by the separators
            // after it, or not at all when empty: the container counts as one more value.
            b',' | b':' | b'[' | b'{' => {
                count += 1;
                if count > limit {
                    return None;
                }
                if matches!(byte, b'[' | b'{') {
                    depth += 1;
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if stop_at_close && depth == 0 {
                    return Some((count, Some(i + 1)));
                }
            }
            _ => {}
        }
    }
    Some((count, None))
}

/// `serde_json::from_slice`, refusing documents of more than [`MAX_VALUES`] values.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    from_slice_with_limit(bytes, MAX_VALUES)
}

/// `serde_json::from_str`, refusing documents of more than [`MAX_VALUES`] values.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    from_slice_with_limit(text.as_bytes(), MAX_VALUES)
}

/// [`from_slice`] with another budget.
pub fn from_slice_with_limit<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, Error> {
    if count_values(bytes, limit).is_none() {
        return Err(Error::TooManyValues { limit });
    }
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn counts_separators_outside_strings_only() {
        assert_eq!(count_values(b"0", 10), Some(1));
        assert_eq!(count_values(b"[0,0,0]", 10), Some(4));
        assert_eq!(count_values(br#"{"a":1,"b":[2]}"#, 10), Some(6));
        assert_eq!(count_values(br#""a,b:[{""#, 10), Some(1));
        assert_eq!(count_values(br#"["a\",\\",","]"#, 10), Some(3));
        assert_eq!(count_values(b"[0,0,0]", 3), None);
    }

    #[test]
    fn the_leading_container_ends_at_its_closing_bracket() {
        let text = br#"{"a":"}</x>","b":[1,{"c":2}]}</tool_call> {"more":1}"#;
        assert_eq!(leading_container_len(text, 20), Some(29));
        assert_eq!(leading_container_len(b"[[],[]] x", 10), Some(7));
        // Not a container, not closed, or over the budget before it closes.
        assert_eq!(leading_container_len(b" {}", 10), None);
        assert_eq!(leading_container_len(b"1", 10), None);
        assert_eq!(leading_container_len(br#"{"a":[1,2"#, 10), None);
        assert_eq!(leading_container_len(b"[0,0,0] [0,0,0,0,0]", 4), Some(7));
        assert_eq!(leading_container_len(b"[0,0,0,0,0]", 4), None);
    }

    #[test]
    fn the_count_bounds_what_serde_builds() {
        fn values(v: &Value) -> usize {
            1 + match v {
                Value::Array(a) => a.iter().map(values).sum(),
                Value::Object(o) => o.iter().map(|(_, v)| 1 + values(v)).sum(),
                _ => 0,
            }
        }
        for text in [
            "[]",
            "{}",
            r#"{"model":"qwen3","message":{"role":"assistant","content":"a,b:{c}"},"done":false}"#,
            r#"[[],[[]],{"a":{}},[1,[2,[3]]]]"#,
            r#"{"k":"\"[,{:"}"#,
        ] {
            let parsed: Value = from_str(text).unwrap();
            let counted = count_values(text.as_bytes(), usize::MAX).unwrap();
            assert!(
                counted >= values(&parsed),
                "{text}: {counted} < {}",
                values(&parsed)
            );
        }
    }

    #[test]
    fn over_the_budget_nothing_is_parsed() {
        let text = format!("[{}0]", "0,".repeat(MAX_VALUES));
        let err = from_str::<Value>(&text).unwrap_err();
        assert!(matches!(err, Error::TooManyValues { limit: MAX_VALUES }));
        assert!(err
            .to_string()
            .contains("more than 262144 JSON values in one document"));
        let fits = format!("[{}0]", "0,".repeat(MAX_VALUES - 3));
        assert!(from_str::<Value>(&fits).is_ok());
    }

    #[test]
    fn invalid_json_is_the_parser_s_error() {
        let err = from_str::<Value>("{\"a\":").unwrap_err();
        assert!(matches!(err, Error::Json(_)), "{err}");
    }
}
