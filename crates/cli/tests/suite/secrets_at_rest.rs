//! Secrets at rest, through the real binary: `gateway install` never puts a key or token in the
//! unit (printed or written) but in a 0600 environment file the unit names; everything the
//! commands create in the state dir is private (files 0600, directories 0700) and a file
//! someone opened up keeps its mode when rewritten; a weak gateway token is refused beyond
//! loopback and warned about on it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use openclaw_test_support::{ModelSpec, TestServer};

use super::support::{Env, Run};

const ENV_KEY: &str = "SECRET-ollama-key-4e1d";
const ENV_TOKEN: &str = "SECRET-gateway-token-9b0c7f3e2a1d5c8b";
const CONFIG_KEY: &str = "SECRET-config-key-77aa";
const CONFIG_TOKEN: &str = "SECRET-config-token-31c9e8d7f6a5b4c3";
const REFERENCED_KEY: &str = "SECRET-proxy-key-0dd5";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[track_caller]
fn assert_no_secret(run: &Run) {
    for secret in [ENV_KEY, ENV_TOKEN, CONFIG_KEY, CONFIG_TOKEN, REFERENCED_KEY] {
        let core = secret.trim_start_matches("SECRET-");
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(core),
                "`openclaw {}` printed {secret} on {stream}:\n{text}",
                run.args.join(" ")
            );
        }
    }
}

/// A user with every kind of secret: keys and a token in the environment, a literal key and
/// token in the config, and a key the config reads with `${PROXY_KEY}`.
fn secret_env(state_dir: Option<PathBuf>) -> Env {
    let mut env = Env::new()
        .var("OLLAMA_API_KEY", ENV_KEY)
        .var("OPENCLAW_GATEWAY_TOKEN", ENV_TOKEN)
        .var("PROXY_KEY", REFERENCED_KEY);
    if let Some(dir) = state_dir {
        env = env.var("OPENCLAW_STATE_DIR", dir.to_str().unwrap());
    }
    env
}

const CONFIG: &str = r#"{
  models: { providers: {
    ollama: { baseUrl: "http://127.0.0.1:9", apiKey: "SECRET-config-key-77aa" },
    proxy: { baseUrl: "http://127.0.0.1:9/v1", api: "openai-completions", apiKey: "${PROXY_KEY}",
             headers: { "X-Extra": "${EXTRA_KEY}" }, models: [{ id: "m" }] },
  } },
  gateway: { auth: { token: "SECRET-config-token-31c9e8d7f6a5b4c3" } },
}"#;

/// The unit on stdout names the environment file and which variables belong there, without a
/// single value; nothing is written.
#[test]
fn install_print_shows_no_secret_and_names_the_env_file() {
    let env = secret_env(None);
    env.write_config(CONFIG);
    let run = env.ok(&["gateway", "install", "--print", "--port", "19001"]);
    assert_no_secret(&run);
    let unit = &run.stdout;
    let env_file = env.state_dir().join("gateway/gateway.env");
    assert!(
        unit.contains(&format!("\nEnvironmentFile=-{}\n", env_file.display())),
        "{unit}"
    );
    assert!(
        unit.contains("install -m 600 /dev/null"),
        "says how to create it: {unit}"
    );
    let names = unit
        .lines()
        .find(|l| l.contains("NAME=\"value\" line for each of"))
        .unwrap_or_else(|| panic!("{unit}"));
    for name in [
        "OLLAMA_API_KEY",
        "OPENCLAW_GATEWAY_TOKEN",
        "PROXY_KEY",
        "EXTRA_KEY",
    ] {
        assert!(names.contains(name), "{name}: {names}");
    }
    assert!(!unit
        .lines()
        .any(|l| l.starts_with("Environment=\"OLLAMA_API_KEY")));
    assert!(!env_file.exists());
    assert!(!env.home().join(".config/systemd").exists());
}

/// `install` writes the unit (0600, no secret) and the environment file (0600, in a 0700
/// directory, holding the values); paths with spaces are quoted the way systemd reads them
/// (checked with `systemd-analyze verify` where it exists). A second install keeps lines added
/// by hand, replaces its own, and makes a file someone opened up private again.
#[test]
fn install_writes_a_private_env_file_and_a_unit_without_secrets() {
    let home = Env::new();
    let state = home.home().join("my state");
    let env = secret_env(Some(state.clone()));
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("openclaw.json"), CONFIG).unwrap();
    let run = env.ok(&["gateway", "install", "--port", "19001"]);
    assert_no_secret(&run);
    assert!(
        run.stderr.contains("EXTRA_KEY"),
        "an unset variable the config reads is named: {}",
        run.stderr
    );
    let unit_path = env
        .home()
        .join(".config/systemd/user/openclaw-gateway.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    for secret in [ENV_KEY, ENV_TOKEN, CONFIG_KEY, CONFIG_TOKEN, REFERENCED_KEY] {
        assert!(!unit.contains(secret), "{secret} in the unit:\n{unit}");
    }
    assert_eq!(mode(&unit_path), 0o600);
    assert!(
        unit.contains(&format!(
            "Environment=\"OPENCLAW_STATE_DIR={}\"",
            state.display()
        )),
        "{unit}"
    );
    let env_file = state.join("gateway/gateway.env");
    assert!(
        unit.contains(&format!("\nEnvironmentFile=-{}\n", env_file.display())),
        "{unit}"
    );
    assert_eq!(mode(&env_file), 0o600);
    assert_eq!(mode(&state.join("gateway")), 0o700);
    let text = std::fs::read_to_string(&env_file).unwrap();
    for line in [
        format!("OLLAMA_API_KEY=\"{ENV_KEY}\""),
        format!("OPENCLAW_GATEWAY_TOKEN=\"{ENV_TOKEN}\""),
        format!("PROXY_KEY=\"{REFERENCED_KEY}\""),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    if let Ok(out) = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit_path)
        .output()
    {
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Someone adds a line by hand and opens the file up; install again with a new key.
    std::fs::write(&env_file, format!("{text}MY_OWN=\"kept\"\n")).unwrap();
    std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = env.var("OLLAMA_API_KEY", "SECRET-ollama-key-second");
    let run = env.ok(&["gateway", "install"]);
    assert!(run.stderr.contains("now 0600"), "{}", run.stderr);
    assert_eq!(mode(&env_file), 0o600);
    let text = std::fs::read_to_string(&env_file).unwrap();
    assert!(text.contains("MY_OWN=\"kept\""), "{text}");
    assert!(
        text.contains("OLLAMA_API_KEY=\"SECRET-ollama-key-second\"") && !text.contains(ENV_KEY),
        "{text}"
    );
    assert_eq!(text.matches("OLLAMA_API_KEY=").count(), 1, "{text}");
    assert_eq!(
        text.matches("# Environment of the openclaw").count(),
        1,
        "{text}"
    );
}

/// The executable's path with spaces (and `$`, `%`) is quoted and escaped for `ExecStart=`, so
/// systemd finds the binary.
#[test]
fn install_quotes_an_executable_path_with_spaces() {
    let env = Env::new();
    let dir = env.home().join("my bin $HOME 100%");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("openclaw");
    std::fs::copy(assert_cmd::cargo::cargo_bin("openclaw"), &exe).unwrap();
    let out = std::process::Command::new(&exe)
        .env_clear()
        .env("HOME", env.home())
        .env("NO_COLOR", "1")
        .args(["gateway", "install", "--print"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let unit = String::from_utf8(out.stdout).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    let shown = exe.to_str().unwrap().replace('%', "%%");
    assert_eq!(exec, format!("ExecStart=\"{shown}\" gateway"));
    let unit_path = env.home().join("check.service");
    std::fs::write(&unit_path, &unit).unwrap();
    if let Ok(out) = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit_path)
        .output()
    {
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Onboarding, an agent turn and a gateway run leave nothing in the state dir that another
/// user can read: every directory 0700, every file 0600 (the workspace, the user's own files,
/// aside). A config the user opened up keeps its mode through `config set`.
#[test]
fn everything_created_in_the_state_dir_is_private() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = Env::new().ollama(&server);
    env.ok(&["onboard", "--non-interactive"]);
    env.ok(&["agent", "-m", "hi"]);
    let gw = env.spawn_gateway(&["gateway", "--port", "0"]);
    gw.line_starting("open ");
    env.ok(&["doctor"]);
    env.ok(&["config", "set", "gateway.port", "19002"]);

    let state = env.state_dir();
    let sessions = state.join("agents/main/sessions");
    let transcripts: Vec<PathBuf> = std::fs::read_dir(&sessions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert!(
        !transcripts.is_empty(),
        "no transcript in {}",
        sessions.display()
    );
    for must_exist in [
        state.join("openclaw.json"),
        state.join("agents/main/agent/auth-profiles.json"),
        state.join("gateway/token"),
    ] {
        assert!(must_exist.exists(), "{}", must_exist.display());
    }
    let mut checked = 0;
    let mut stack = vec![state.clone()];
    while let Some(dir) = stack.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == state.join("workspace") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "only {checked} files checked");
    drop(gw);

    // A mode the user chose survives a rewrite.
    let config = env.config_path();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    env.ok(&["config", "set", "gateway.port", "19003"]);
    assert_eq!(mode(&config), 0o640);
    assert!(env.read_config().contains("19003"));
}

/// A made-up token (short, or a few words) cannot guard a gateway on the network: `--bind lan`
/// is refused, saying why and how to make a strong one, without quoting it; on loopback the
/// gateway starts and warns. A random token starts on `lan` without a warning.
#[test]
fn a_weak_token_is_refused_beyond_loopback_and_warned_about_on_it() {
    for (weak, how) in [
        ("hunter2", "env"),
        ("my-gateway-secret-token-please", "config"),
    ] {
        let env = match how {
            "env" => Env::new().var("OPENCLAW_GATEWAY_TOKEN", weak),
            _ => {
                let env = Env::new();
                env.write_config(&format!(
                    r#"{{ gateway: {{ auth: {{ token: "{weak}" }} }} }}"#
                ));
                env
            }
        };
        let run = env.run(&["gateway", "--bind", "lan", "--port", "0"]);
        run.assert_code(1)
            .assert_stderr_contains("refusing to listen on 0.0.0.0:0 with a weak gateway token")
            .assert_stderr_contains("openssl rand -hex 32");
        assert!(!run.stderr.contains(weak), "{}", run.stderr);
        let gw = env.spawn_gateway(&["gateway", "--port", "0"]);
        gw.line_starting("open ");
        let log = gw.stderr_lines().join("\n");
        assert!(
            log.contains("warning: the gateway token") && log.contains("is weak"),
            "{log}"
        );
        assert!(!log.contains(weak), "{log}");
    }
    let strong = "5f0c2b7e9a14d3c68e21b0f47a95d2c3";
    let env = Env::new().var("OPENCLAW_GATEWAY_TOKEN", strong);
    let gw = env.spawn_gateway(&["gateway", "--bind", "lan", "--port", "0"]);
    gw.line_starting("open ");
    let log = gw.stderr_lines().join("\n");
    assert!(!log.contains("weak"), "{log}");
}
