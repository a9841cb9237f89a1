//! The config loader: JSON5 parsing, strict validation and `${VAR}` substitution, as
//! `openclaw_config::check(text, origin, Some(env))` does for every command.
//!
//! Properties: never a panic; every error names the origin (and a line and column inside the
//! text); a document the schema accepts also deserializes into the typed config (otherwise a
//! user would get an error without a location).
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_config::{
    check, schema, variables_in, ConfigError, Document, Env, OpenClawConfig, Severity,
};

/// Of the variables `text` uses, some are set (one to text that needs escaping), some not.
fn env(text: &str) -> Env {
    variables_in(text)
        .into_iter()
        .filter_map(|name| match name.len() % 3 {
            0 => None,
            1 => Some((name.clone(), format!("value-of-{name}"))),
            _ => Some((name, "\"q\" \\ ${NOT_AGAIN} \u{2028}".to_owned())),
        })
        .collect()
}

fn located(text: &str, line: usize, column: usize) {
    let lines = text.split('\n').count();
    assert!(line >= 1 && line <= lines, "line {line} of {lines}");
    assert!(column >= 1, "column {column}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match check(text, "f", Some(&env(text))) {
        Ok(checked) => {
            let _ = checked.document.to_value();
        }
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
            located(text, line, column);
        }
        Err(ConfigError::Invalid {
            origin,
            diagnostics,
        }) => {
            assert_eq!(origin, "f");
            assert!(!diagnostics.is_empty());
            for d in &diagnostics {
                located(text, d.line, d.column);
            }
            // One unlocated diagnostic is what a failed typed deserialization gives: see below.
            if diagnostics.len() == 1 && diagnostics[0].path.is_empty() {
                schema_valid_implies_type_valid(text);
            }
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});

/// A document the schema accepts must deserialize into the typed config.
fn schema_valid_implies_type_valid(text: &str) {
    let Ok(document) = Document::parse(text, "f") else {
        return;
    };
    let Some(root) = document.root() else {
        return;
    };
    let diagnostics = schema::validate(root, "f", &|o| document.line_col(o));
    if diagnostics.iter().all(|d| d.severity != Severity::Error) {
        if let Err(e) = serde_json::from_value::<OpenClawConfig>(root.to_value()) {
            panic!("the schema accepts what the types reject ({e}):\n{text}");
        }
    }
}
