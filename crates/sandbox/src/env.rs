//! The environment a command starts with: built from an allowlist, never inherited whole.
//!
//! The agent's own environment holds what it needs to reach models — `OLLAMA_API_KEY`,
//! provider keys, the gateway token — and a command that could print it would hand those to
//! the model. So a command gets only variables that say how to behave (search path, language,
//! time zone, user name), and its `HOME` and `TMPDIR` point at its private temp directory.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// Variables passed through from the agent's environment when set (`LC_*` as well).
pub const PASSED_VARIABLES: &[&str] = &[
    "PATH", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "TERM", "COLUMNS", "NO_COLOR",
];

/// Whether a variable's name says it holds a secret. Such a variable is never passed, even if
/// a future allowlist named it.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "AUTH",
        "COOKIE",
        "SESSION",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

fn passed(name: &str) -> bool {
    (PASSED_VARIABLES.contains(&name) || name.starts_with("LC_")) && !is_secret_name(name)
}

/// The whole environment for a command: the allowed variables of `from`, plus `HOME`,
/// `TMPDIR`, `TMP` and `TEMP` set to `temp_dir`.
pub fn clean_env(
    from: impl IntoIterator<Item = (OsString, OsString)>,
    temp_dir: &Path,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = from
        .into_iter()
        .filter(|(k, _)| k.to_str().is_some_and(passed))
        .collect();
    for name in ["HOME", "TMPDIR", "TMP", "TEMP"] {
        env.push((OsStr::new(name).to_owned(), temp_dir.as_os_str().to_owned()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_variables_pass_and_home_is_the_temp_dir() {
        let from = [
            ("PATH", "/usr/bin:/bin"),
            ("LC_ALL", "C.UTF-8"),
            ("OLLAMA_API_KEY", "k"),
            ("OPENCLAW_GATEWAY_TOKEN", "t"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("LC_API_KEY", "x"),
            ("HOME", "/root"),
            ("SSH_AUTH_SOCK", "/run/agent"),
            ("LD_PRELOAD", "/tmp/evil.so"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = clean_env(from, Path::new("/tmp/p"));
        let names: Vec<_> = env.iter().map(|(k, v)| format!("{k:?}={v:?}")).collect();
        assert_eq!(
            names,
            [
                "\"PATH\"=\"/usr/bin:/bin\"",
                "\"LC_ALL\"=\"C.UTF-8\"",
                "\"HOME\"=\"/tmp/p\"",
                "\"TMPDIR\"=\"/tmp/p\"",
                "\"TMP\"=\"/tmp/p\"",
                "\"TEMP\"=\"/tmp/p\"",
            ]
        );
    }
}
