//! The official `openai` Python client (from PyPI) against the gateway:
//! `tests/python/test_openai_client.py`. A missing `python3` or `openai` package skips the
//! test, saying what to install, or fails it under CI (`openclaw_test_support::requirement`).

use std::path::PathBuf;
use std::process::Command;

use openclaw_test_support::requirement::missing;

use super::support::{Fixture, TOKEN};

/// Exit code of the script when `openai` is not installed.
const OPENAI_MISSING: i32 = 3;

/// Fails under CI, skips (saying what to install) elsewhere.
fn unavailable(why: &str) {
    missing(why, "python3 -m pip install openai");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_openai_python_client_completes_chats() {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/test_openai_client.py");
    assert!(script.exists(), "{} is missing", script.display());
    if Command::new("python3").arg("--version").output().is_err() {
        unavailable("python3 is not installed");
        return;
    }
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let base = format!("http://{}", gw.addr);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&script)
            .arg(&base)
            .arg(TOKEN)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(OPENAI_MISSING) {
        unavailable("the `openai` Python package is not installed for python3");
        return;
    }
    assert!(
        output.status.success(),
        "the openai client failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(stdout.contains("every check passed"), "{stdout}");
}
