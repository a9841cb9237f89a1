//! Colour is decided in one place: on a terminal only, never in a pipe or a file, and never
//! with `NO_COLOR`. Every command below runs with its output piped and `NO_COLOR` unset: not
//! one escape sequence may come out; with `CLICOLOR_FORCE=1` colour does (so the check can fail).

use std::process::{Command, Stdio};

use openclaw_test_support::gateway::Gateway;
use openclaw_test_support::{text_stream, ModelSpec, Reply, TestServer};

use super::support::Env;

fn piped(mut cmd: Command) -> (Vec<u8>, Vec<u8>) {
    let out = cmd
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.stdout, out.stderr)
}

#[test]
fn no_escape_sequences_reach_a_pipe() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3").reply(Reply::Sse(text_stream("m", &["hello"]))))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    std::fs::create_dir_all(env.state_dir().join("workspace")).unwrap();
    let commands: &[&[&str]] = &[
        &["doctor"],
        &["models", "list"],
        &["models", "list", "--all"],
        &["models", "status"],
        &["config", "get", "gateway"],
        &["config", "validate"],
        &["gateway", "status"],
        &["agent", "-m", "hi", "--model", "ollama/llama3.3"],
        &["no-such-command"],
    ];
    for args in commands {
        let (stdout, stderr) = piped(env.std_command(args));
        for (name, bytes) in [("stdout", &stdout), ("stderr", &stderr)] {
            assert!(
                !bytes.contains(&0x1b),
                "`openclaw {}` wrote an escape sequence to {name}:\n{}",
                args.join(" "),
                String::from_utf8_lossy(bytes)
            );
        }
    }
    // JSON never carries colour, not even escaped and with colour forced: it is data.
    for args in [
        &["doctor", "--json"][..],
        &["models", "list", "--json"],
        &["models", "status", "--json"],
        &["config", "validate", "--json"],
        &["gateway", "status", "--json"],
    ] {
        let mut forced = env.std_command(args);
        forced.env("CLICOLOR_FORCE", "1");
        let (stdout, _) = piped(forced);
        let stdout = String::from_utf8_lossy(&stdout);
        assert!(
            !stdout.contains("\\u001b") && !stdout.contains('\u{1b}'),
            "`openclaw {}` put colour into its JSON:\n{stdout}",
            args.join(" ")
        );
    }
    // The same output is coloured when colour is forced, so the check above can fail.
    let mut forced = env.std_command(&["doctor"]);
    forced.env("CLICOLOR_FORCE", "1");
    let (stdout, stderr) = piped(forced);
    assert!(
        stdout.contains(&0x1b) || stderr.contains(&0x1b),
        "CLICOLOR_FORCE=1 gave no colour"
    );

    // The gateway's start-up lines, with the painted warning of auth mode "none".
    env.write_config(r#"{ gateway: { auth: { mode: "none" } } }"#);
    let mut cmd = env.std_command(&["gateway", "--port", "0"]);
    cmd.env_remove("NO_COLOR");
    let mut gw = Gateway::spawn(cmd);
    // Painted or not, the `open …` line ends the start-up lines.
    gw.wait_for_line("`open` line", |l| l.contains("open "));
    let lines = gw.stderr_lines();
    gw.kill();
    assert!(lines.len() >= 2, "{lines:?}");
    for line in &lines {
        assert!(
            !line.contains('\u{1b}'),
            "the gateway wrote an escape sequence to a pipe: {line}"
        );
    }
}

/// `openclaw models list | head -1`: once the reader is gone, the command ends quietly with
/// success (no panic, no "Broken pipe" error) whatever it was writing. The read ends are
/// closed before the commands write a byte, so every write fails.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let names: Vec<String> = (0..200).map(|i| format!("model-{i:03}")).collect();
    let models: Vec<ModelSpec> = names.iter().map(|n| ModelSpec::new(n)).collect();
    let server = TestServer::builder()
        .models(models)
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let commands: &[&[&str]] = &[
        &["models", "list"],
        &["models", "list", "--json"],
        &["completions", "bash"],
    ];
    for args in commands {
        let mut child = env
            .std_command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "`openclaw {}`: {stderr}",
            args.join(" ")
        );
        assert!(
            !stderr.contains("panicked")
                && !stderr.contains("Broken pipe")
                && !stderr.contains("error"),
            "`openclaw {}` complained about the closed pipe: {stderr}",
            args.join(" ")
        );
    }
}
