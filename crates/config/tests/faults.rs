//! Bad and unusual input to the config loader and editor: regressions found by the fuzz
//! targets in `fuzz/` (`config_load`, `config_edit`), each named after the bug it pins, plus
//! the properties those targets check, on hand-picked inputs so CI runs them without a fuzzer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use openclaw_config::edit::{self, Segment};
use openclaw_config::{check, parse_cli_value, ConfigError, ConfigPath, Document};
use serde_json::{json, Value};

/// The explicit model block of OpenClaw's Ollama page, as users paste it.
const SEED_PRODUCT: &str = "{ models: { providers: { ollama: { baseUrl: 'http://127.0.0.1:11434/v1', api: 'openai-completions', models: [ { id: 'm', contextWindow: 8192, maxTokens: 8192 * 10 } ] } } } }\n";

fn set(text: &str, path: &str, value: Value) -> String {
    let doc = Document::parse(text, "f").unwrap();
    let path = ConfigPath::parse(path).unwrap();
    let out = edit::set(&doc, &path, &value).unwrap();
    let again = Document::parse(out.as_str(), "f")
        .unwrap_or_else(|e| panic!("set produced text that does not parse ({e}):\n{out}"));
    assert_eq!(
        edit::get(&again, &path).map(|n| n.to_value()),
        Some(value),
        "set then get differs:\n{out}"
    );
    out
}

fn unset(text: &str, path: &str) -> String {
    let doc = Document::parse(text, "f").unwrap();
    let path = ConfigPath::parse(path).unwrap();
    let out = edit::unset(&doc, &path).unwrap();
    let again = Document::parse(out.as_str(), "f")
        .unwrap_or_else(|e| panic!("unset produced text that does not parse ({e}):\n{out}"));
    if let Some(Segment::Key(_)) = path.segments().last() {
        assert!(edit::get(&again, &path).is_none(), "still set:\n{out}");
    }
    out
}

/// fuzz `config_edit` crash-87df6ddf: `config set …maxTokens 4096` on the Ollama page's
/// `maxTokens: 8192 * 10` replaced only `8192` and wrote `4096* 10`, i.e. 40960.
#[test]
fn set_replaces_a_whole_product_not_its_first_factor() {
    let out = set(
        SEED_PRODUCT,
        "models.providers.ollama.models[0].maxTokens",
        json!(4096),
    );
    assert!(out.contains("maxTokens: 4096 }"), "{out}");
    // Products elsewhere, and ones without spaces, are replaced whole too.
    assert_eq!(set("{ a: 2*3*7, b: 1 }", "a", json!(5)), "{ a: 5, b: 1 }");
    assert_eq!(set("[2 * 3, 4]", "[0]", json!("x")), "[\"x\", 4]");
    // fuzz `config_edit` crash-1d65f33f: a signed product, whose literal starts at the sign.
    assert_eq!(set("[-68*22222026, 1]", "[0]", json!("")), "[\"\", 1]");
    assert_eq!(set("{ a: +2 * 3 }", "a", json!(1)), "{ a: 1 }");
}

/// Same bug, other edit: unsetting a member whose value is a product left ` * 10` behind, a
/// file that no longer parses.
#[test]
fn unset_removes_a_whole_product() {
    let out = unset(SEED_PRODUCT, "models.providers.ollama.models[0].maxTokens");
    assert!(!out.contains('*'), "{out}");
    assert_eq!(unset("{ a: 1, b: 2 * 3 }", "b"), "{ a: 1 }");
    assert_eq!(unset("{\n  b: 2 * 3,\n  c: 1\n}", "b"), "{\n  c: 1\n}");
    assert_eq!(unset("{ l: [2 * 3, 4] }", "l[0]"), "{ l: [4] }");
}

/// What `config_load` checks: every error names the file, a line inside it and a column.
#[test]
fn every_load_error_is_located() {
    let env = openclaw_config::Env::from_vars([("SET", "v")]);
    for text in [
        "{",
        "{ a: }",
        "{ gateway: { port: 'x' } }",
        "{ gateway: { port: 99999999999 * 99999999999 } }",
        "{ models: { providers: { p: { apiKey: '${UNSET_VAR}' } } } }",
        "[1, 2]",
        "\"just a string\"",
        "{ a: 1 } trailing",
        "{ 'é': 1, b: NaN }",
        "{ a: Infinity }",
        "{ a: 0x }",
        "\u{feff}{}",
        "{ a: 1, a: 2, agents: { defaults: { model: 7 } } }",
        "{\n\n\n  gateway: { auth: { token: '${SET}${UNSET_VAR}' } }\n}",
    ] {
        let lines = text.split('\n').count();
        match check(text, "f", Some(&env)) {
            Ok(_) => {}
            Err(ConfigError::Syntax {
                origin,
                line,
                column,
                ..
            })
            | Err(ConfigError::MissingEnvVar {
                origin,
                line,
                column,
                ..
            }) => {
                assert_eq!(origin, "f");
                assert!((1..=lines).contains(&line) && column >= 1, "{text:?}");
            }
            Err(ConfigError::Invalid {
                origin,
                diagnostics,
            }) => {
                assert_eq!(origin, "f");
                for d in diagnostics {
                    assert!((1..=lines).contains(&d.line) && d.column >= 1, "{text:?}");
                }
            }
            Err(other) => panic!("{text:?}: unexpected {other}"),
        }
    }
}

/// What `config_edit` checks, on the edits users make most: every successful edit re-parses
/// and reads back as what was set.
#[test]
fn edits_read_back_as_written() {
    let docs = [
        "",
        "{}",
        "// c\n{\n  gateway: {\n    port: 18789, // default\n  },\n}\n",
        "{ 'x': { \"q\": 'single' } }",
        SEED_PRODUCT,
    ];
    let values = [
        "19001",
        "ollama/llama3.3",
        "it's \"quoted\" \\ é \u{2028}",
        "{primary: 'a/b', fallbacks: ['c/d']}",
        "[1, [2, {a: 3}]]",
        "-0.5",
        "18446744073709551615",
        "1e300",
    ];
    let paths = [
        "gateway.port",
        "x[\"a.b\"]",
        "agents.defaults.model",
        "models.providers.ollama.models[0].maxTokens",
        "list[0]",
    ];
    for doc in docs {
        for path in paths {
            for raw in values {
                let value = parse_cli_value(raw);
                let parsed = Document::parse(doc, "f").unwrap();
                let config_path = ConfigPath::parse(path).unwrap();
                if edit::set(&parsed, &config_path, &value).is_ok() {
                    set(doc, path, value);
                }
            }
        }
    }
}

/// Paths a user may mistype are refused with a reason, never a panic.
#[test]
fn odd_paths_are_refused_or_parsed() {
    for raw in [
        "",
        ".",
        "..",
        "a..b",
        "a.",
        "[",
        "]",
        "[]",
        "a[",
        "a[0",
        "a[-1]",
        "a[x]",
        "a['']",
        "a[\"]",
        "[\"a\"]",
        "a[99999999999999999999999]",
        "é.ü[0]",
        " a . b ",
        "a[0][1]",
    ] {
        match ConfigPath::parse(raw) {
            Ok(path) => assert!(!path.segments().is_empty(), "{raw:?}"),
            Err(e) => assert!(
                e.to_string().contains("invalid config path"),
                "{raw:?}: {e}"
            ),
        }
    }
    let p = ConfigPath::parse("a['b.c'][2]").unwrap();
    assert_eq!(
        p.segments(),
        &[
            Segment::Key("a".into()),
            Segment::Key("b.c".into()),
            Segment::Index(2)
        ]
    );
}

/// fuzz `config_edit` crash-6514b47a: a `//` comment ends at a lone `\r` for the parser, but
/// the editor read it as running to the next `\n`, so a key inserted "after the comment" landed
/// after the object's closing brace, in the wrong object.
#[test]
fn a_lone_carriage_return_ends_a_comment_for_the_editor_too() {
    let text = "{\n  gateway: {\n    port: 18789, // default\r  },\n}\n";
    let out = set(text, "gateway.bind", json!("loopback"));
    let doc = Document::parse(out.as_str(), "f").unwrap();
    assert_eq!(
        doc.to_value(),
        json!({"gateway": {"port": 18789, "bind": "loopback"}})
    );
    // Windows line ends are one line end: the existing lines keep theirs.
    let crlf = "{\r\n  a: 1, // one\r\n}\r\n";
    assert!(set(crlf, "b", json!(2)).starts_with("{\r\n  a: 1, // one\r\n  b: 2,"));
    assert_eq!(
        unset("{\r\n  a: 1, // one\r\n  b: 2\r\n}\r\n", "a"),
        "{\r\n  b: 2\r\n}\r\n"
    );
}

/// fuzz `config_edit` crash-ee3babfe: unsetting the last member (no comma after it) took "the
/// comma before it" from the end of a `//` comment on the line above, swallowing the closing
/// brace into that comment.
#[test]
fn unset_never_takes_a_comma_from_a_comment() {
    assert_eq!(unset("{\n  // k2e,\n  b: 2}\n", "b"), "{\n  // k2e,\n  }\n");
    assert_eq!(unset("{ a: 1, // x,\n  b: 2 }", "b"), "{ a: 1 }");
    assert_eq!(unset("{ a: 1 /* x, */, b: 2 }", "b"), "{ a: 1 /* x, */ }");
    assert_eq!(unset("[1, /* , */ 2]", "[1]"), "[1]");
}

/// fuzz `config_edit` crash-7b223061: a path a few hundred steps long made `set` write text
/// the parser refuses to read back ("Maximum nesting depth exceeded", at a line and column of
/// text that was never on disk). Now the edit itself is refused, saying why.
#[test]
fn absurdly_deep_edits_are_refused_before_writing() {
    let deep_path = vec!["a"; 300].join(".");
    let doc = Document::parse("{}", "f").unwrap();
    let err = edit::set(&doc, &ConfigPath::parse(&deep_path).unwrap(), &json!(1)).unwrap_err();
    assert!(err.to_string().contains("nested 300 levels deep"), "{err}");
    let deep_value = format!("{}1{}", "[".repeat(250), "]".repeat(250));
    let value = parse_cli_value(&deep_value);
    assert!(value.is_array());
    let err = edit::set(&doc, &ConfigPath::parse("a.b.c.d.e.f.g").unwrap(), &value).unwrap_err();
    assert!(err.to_string().contains("at most 256"), "{err}");
    // Deep but sane edits still work.
    set("{}", &vec!["k"; 200].join("."), json!([[1]]));
}

/// fuzz `config_edit` crash-e789f5b4: the comma after a value can be on a later line (a lone
/// `\r` or `\n` before it, comma-first style); unset looked for it on the value's line only and
/// left `[ ,2]` behind.
#[test]
fn unset_finds_a_comma_on_a_later_line() {
    assert_eq!(unset("{a:[1\r  ,2] }", "a[0]"), "{a:[2] }");
    assert_eq!(unset("{\n  a: 1\n  , b: 2\n}", "a"), "{\n  b: 2\n}");
    assert_eq!(unset("{\n  a: 1 // one\n  , b: 2\n}", "a"), "{\n  b: 2\n}");
    assert_eq!(unset("{\n  b: 2\n  , a: 1\n}", "a"), "{\n  b: 2\n  \n}");
}

/// fuzz `config_edit` crash-5d5a6bb2: in a file with unquoted keys, `set` wrote the new key
/// `null_______s` unquoted, which the parser reads as `null` then a word: text that does not
/// parse. Keys that start like a keyword are quoted now.
#[test]
fn keys_that_start_like_keywords_are_quoted() {
    for key in ["null_x", "true_", "false$", "nullable", "trueish"] {
        let out = set("{ a: 1 }", key, json!(2));
        assert!(out.contains(&format!("\"{key}\": 2")), "{out}");
    }
    assert_eq!(
        set("{ a: 1 }", "plain_key", json!(2)),
        "{ a: 1, plain_key: 2 }"
    );
}

/// Every input of `fuzz/seeds/config_edit/` (the crashes found included) through the
/// `config_edit` fuzz target's properties, so `cargo test` replays them without cargo-fuzz.
#[test]
fn fuzz_seeds_of_config_edit_replay_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/config_edit");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let Some((&control, rest)) = data.split_first() else {
            continue;
        };
        let Ok(rest) = std::str::from_utf8(rest) else {
            continue;
        };
        let mut parts = rest.splitn(3, '\0');
        let (Some(text), Some(raw_path)) = (parts.next(), parts.next()) else {
            continue;
        };
        let raw_value = parts.next().unwrap_or("");
        let value = if control & 2 != 0 {
            Value::String(raw_value.to_owned())
        } else {
            parse_cli_value(raw_value)
        };
        let (Ok(path), Ok(doc)) = (ConfigPath::parse(raw_path), Document::parse(text, "f")) else {
            continue;
        };
        if control & 1 == 0 {
            if let Ok(out) = edit::set(&doc, &path, &value) {
                let again = Document::parse(out.as_str(), "f").unwrap();
                assert_eq!(edit::get(&again, &path).map(|n| n.to_value()), Some(value));
            }
        } else if let Ok(out) = edit::unset(&doc, &path) {
            Document::parse(out.as_str(), "f").unwrap();
        }
        replayed += 1;
    }
    assert!(replayed >= 10, "only {replayed} seeds in {}", dir.display());
}
