//! The web chat page in a real browser: headless Chromium (Debian `chromium`) driven by
//! `playwright-core` (`tests/browser/chat.test.mjs`) against a real `openclaw gateway`, whose
//! agent talks to the Ollama-compatible test server. The first model reads `notes.txt` with a
//! tool and answers; the second streams slowly so the page's Stop button can be pressed.
//!
//! Needs `node`, `/usr/bin/chromium` and `tests/browser/node_modules` (`npm ci`);
//! `scripts/test` installs them. A missing piece skips the test, saying what to install, or
//! fails it under CI (`openclaw_test_support::requirement`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use openclaw_test_support::gateway::Gateway;
use openclaw_test_support::requirement::missing;
use openclaw_test_support::{text_stream, tool_call_stream, ModelSpec, Reply, TestServer};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// What is missing, and the command that installs it.
fn missing_prerequisite(root: &Path) -> Option<(String, &'static str)> {
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some((format!("{chromium} not found"), "apt-get install chromium"));
    }
    if Command::new("node")
        .arg("--version")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        return Some(("node not found".into(), "apt-get install nodejs npm"));
    }
    if !root
        .join("tests/browser/node_modules/playwright-core")
        .exists()
    {
        return Some((
            "tests/browser/node_modules is missing".into(),
            "npm ci --prefix tests/browser",
        ));
    }
    None
}

#[test]
fn web_chat_page_streams_shows_tools_and_stops() {
    let root = repo_root();
    if let Some((what, install)) = missing_prerequisite(&root) {
        return missing(&what, install);
    }
    let slow: Vec<String> = (0..120).map(|i| format!("word{i} ")).collect();
    let server = TestServer::builder()
        .model(
            ModelSpec::new("llama3.3")
                .reply(Reply::Sse(tool_call_stream(
                    "read",
                    r#"{"path":"notes.txt"}"#,
                )))
                .reply(Reply::Sse(text_stream(
                    "m",
                    &["Your notes say: ", "the launch code is 4242."],
                ))),
        )
        .model(
            ModelSpec::new("slowpoke")
                .reply(Reply::Sse(text_stream("m", &slow)))
                .chunk_delay(Duration::from_millis(150)),
        )
        .start_blocking()
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(state.path().join("workspace")).unwrap();
    std::fs::write(
        state.path().join("workspace/notes.txt"),
        "The launch code is 4242.\n",
    )
    .unwrap();
    std::fs::write(
        state.path().join("openclaw.json"),
        r#"{ agents: { defaults: { model: "ollama/llama3.3" } } }"#,
    )
    .unwrap();

    let mut cmd = Gateway::command(&assert_cmd::cargo::cargo_bin("openclaw"), state.path());
    cmd.env("OPENCLAW_STATE_DIR", state.path())
        .env("OLLAMA_API_KEY", "ollama-local")
        .env("OLLAMA_HOST", server.addr().to_string());
    let mut gateway = Gateway::start(cmd);
    let url = gateway.page_url();
    assert!(
        url.contains("#token="),
        "the gateway did not show its token: {url}"
    );

    let out = Command::new("node")
        .args(["--test", "chat.test.mjs"])
        .current_dir(root.join("tests/browser"))
        .env("GATEWAY_URL", &url)
        .env("OPENCLAW_TEST_TOOL_MODEL", "ollama/llama3.3:latest")
        .env("OPENCLAW_TEST_SLOW_MODEL", "ollama/slowpoke:latest")
        .env("OPENCLAW_TEST_EXPECT_TOOL", "read")
        .env("OPENCLAW_TEST_EXPECT_TEXT", "4242")
        .output()
        .unwrap();
    drop(gateway);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
    assert!(
        root.join("target/browser/chat.png").exists(),
        "no screenshot saved"
    );
}
