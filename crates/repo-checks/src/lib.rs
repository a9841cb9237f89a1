//! Checks of the repository as a whole, which belong to no single crate: every fuzz target
//! builds and survives a short run from its seeds (`tests/fuzz_smoke.rs`), and the dependency
//! tree keeps to our license, ban and source policy (`tests/dependency_policy.rs`,
//! `deny.toml`). They live here so that the README's one test command, `cargo test
//! --workspace`, runs them too; `scripts/test` installs the tools they need (cargo-fuzz,
//! cargo-deny). Without a tool, a check says so and passes locally, and fails under CI
//! (`openclaw_test_support::requirement`).

use std::path::PathBuf;
use std::process::Command;

use openclaw_test_support::requirement::missing;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `cargo <subcommand> --version` works; if not, fails under CI and returns `false`
/// otherwise (the caller then skips, the skip having been reported).
pub fn cargo_tool_available(subcommand: &str, install: &str) -> bool {
    let found = Command::new(env!("CARGO"))
        .args([subcommand, "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        missing(&format!("cargo-{subcommand} is not installed"), install);
    }
    found
}

/// A `cargo` command for a nested build: it must not inherit this test run's target directory.
pub fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(args)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    command
}
