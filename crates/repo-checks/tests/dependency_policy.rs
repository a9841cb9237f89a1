//! The dependency tree keeps to deny.toml: permissive licenses only, no banned crates (OpenSSL),
//! crates.io only. Advisories are not checked: the RustSec database is fetched from GitHub,
//! which our machines and CI cannot reach (RELIABILITY.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use openclaw_repo_checks::{cargo, cargo_tool_available, repo_root};

#[test]
fn dependencies_keep_to_deny_toml() {
    if !cargo_tool_available("deny", "cargo install cargo-deny --locked") {
        return;
    }
    let output = cargo(&[
        "deny",
        "--all-features",
        "check",
        "licenses",
        "bans",
        "sources",
    ])
    .current_dir(repo_root())
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo deny failed:\n{stderr}");
}
