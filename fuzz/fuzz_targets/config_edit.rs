//! `openclaw config set/unset`: path parsing, value parsing and the in-place text edit.
//!
//! Input: a control byte, then `document \0 path \0 value`. Bit 0 of the control byte: unset
//! instead of set; bit 1: the value is taken as a plain string (`--string`).
//!
//! Properties: never a panic; an edit that succeeds produces text that parses again; after a
//! set, reading the path gives back exactly the value set; after an unset of a key that
//! appeared once, the key is gone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_config::edit::{self, Segment};
use openclaw_config::{parse_cli_value, ConfigPath, Document, NodeKind};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let mut parts = rest.splitn(3, '\0');
    let (Some(text), Some(raw_path), raw_value) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let raw_value = raw_value.unwrap_or("");
    let value = if control & 2 != 0 {
        Value::String(raw_value.to_owned())
    } else {
        parse_cli_value(raw_value)
    };
    let Ok(path) = ConfigPath::parse(raw_path) else {
        return;
    };
    let Ok(doc) = Document::parse(text, "f") else {
        return;
    };
    if control & 1 == 0 {
        let Ok(out) = edit::set(&doc, &path, &value) else {
            return;
        };
        let again = Document::parse(out.as_str(), "f")
            .unwrap_or_else(|e| panic!("set produced text that does not parse ({e}):\n{out}"));
        let got = edit::get(&again, &path).map(|n| n.to_value());
        assert_eq!(
            got.as_ref(),
            Some(&value),
            "set then get differs:\n{text}\n---\n{out}"
        );
    } else {
        let Ok(out) = edit::unset(&doc, &path) else {
            return;
        };
        let again = Document::parse(out.as_str(), "f")
            .unwrap_or_else(|e| panic!("unset produced text that does not parse ({e}):\n{out}"));
        // A key that appeared once in its object is gone afterwards.
        let (Some(Segment::Key(last)), parents) =
            (path.segments().last(), path.segments().len() - 1)
        else {
            return;
        };
        let parent_path = &path.segments()[..parents];
        let mut node = doc.root();
        for seg in parent_path {
            node = node.and_then(|n| child(n, seg));
        }
        if let Some(NodeKind::Object(members)) = node.map(|n| &n.kind) {
            if members.iter().filter(|m| &m.key == last).count() == 1 {
                assert!(
                    edit::get(&again, &path).is_none(),
                    "unset left the key:\n{text}\n---\n{out}"
                );
            }
        }
    }
});

fn child<'a>(node: &'a openclaw_config::Node, seg: &Segment) -> Option<&'a openclaw_config::Node> {
    match (seg, &node.kind) {
        (Segment::Key(k), NodeKind::Object(members)) => {
            members.iter().rev().find(|m| &m.key == k).map(|m| &m.value)
        }
        (Segment::Index(i), NodeKind::Array(items)) => items.get(*i),
        _ => None,
    }
}
