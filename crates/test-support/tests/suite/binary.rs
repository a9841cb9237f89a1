//! The `ollama-test-server` binary, run as a process the way benchmarks run it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// Kills the child even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ollama-test-server"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (running, url)
}

#[tokio::test]
async fn binary_serves_plain_models_and_hangs_on_request() {
    let (_server, url) = spawn(&["--port", "0", "--models", "3", "--hang", "model-1"]);
    assert!(url.starts_with("http://127.0.0.1:"));
    let tags: Value = reqwest::get(format!("{url}/api/tags"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["model-0:latest", "model-1:latest", "model-2:latest"]
    );
    let err = reqwest::Client::new()
        .post(format!("{url}/api/show"))
        .json(&serde_json::json!({ "model": "model-1" }))
        .timeout(std::time::Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
}

#[tokio::test]
async fn binary_serves_fixture_models_by_default() {
    let (_server, url) = spawn(&[]);
    let tags: Value = reqwest::get(format!("{url}/api/tags"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"llama3.3:latest"), "{names:?}");
    assert!(names.contains(&"qwen3:8b"), "{names:?}");
}

#[test]
fn binary_rejects_bad_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_ollama-test-server"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown option `--bogus`"));
}
