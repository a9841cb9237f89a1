//! Writes of `openclaw.json` are atomic (temp file + rename, previous kept as
//! `.bak`): killing `openclaw config set` at any moment leaves either the old file or the new
//! one, never a partial or invalid one.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::Env;

const INITIAL: &str = "// survives every kill\n{\n  gateway: { port: 1000 }, // the port\n}\n";

/// A small deterministic generator (xorshift64*), so a failing delay can be replayed.
struct Delays(u64);

impl Delays {
    fn next_micros(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % below
    }
}

/// `gateway.port` of a config text, after checking it is a complete, valid config.
#[track_caller]
fn checked_port(text: &str, what: &str) -> u64 {
    let checked = openclaw_config::check(text, what, None)
        .unwrap_or_else(|e| panic!("{what} is not a valid config ({e}):\n{text}"));
    assert!(
        checked.warnings.is_empty(),
        "{what}: {:?}",
        checked.warnings
    );
    let value: Value = checked
        .document
        .root()
        .map(|n| n.to_value())
        .unwrap_or(Value::Null);
    value["gateway"]["port"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what} has no gateway.port:\n{text}"))
}

fn openclaw(env: &Env, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("openclaw"));
    cmd.env_clear()
        .env("HOME", env.home())
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "openclaw.json" && n != "openclaw.json.bak")
        .collect();
    names.sort();
    names
}

/// 200+ runs of `config set gateway.port N`, SIGKILLed after 0–3 ms: after every kill the
/// config is complete and valid, keeps its comment, and holds either the previous port or N;
/// the backup is always complete too.
#[test]
fn killing_config_set_never_leaves_a_broken_file() {
    const ITERATIONS: u32 = 220;
    let env = Env::new();
    env.write_config(INITIAL);
    let mut delays = Delays(0x9e37_79b9_7f4a_7c15);
    let mut current = 1000;
    let (mut finished, mut interrupted) = (0, 0);
    let started = Instant::now();

    for i in 0..ITERATIONS {
        let port = 2000 + u64::from(i);
        let delay = Duration::from_micros(delays.next_micros(3000));
        let mut child = openclaw(&env, &["config", "set", "gateway.port", &port.to_string()])
            .spawn()
            .unwrap();
        // Every 20th run is left to finish, so that finished writes (and backups) are
        // exercised however slow the machine is.
        if i % 20 != 19 {
            std::thread::sleep(delay);
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1;
        } else {
            interrupted += 1;
        }

        let text = std::fs::read_to_string(env.config_path())
            .unwrap_or_else(|e| panic!("iteration {i} ({delay:?}): config gone: {e}"));
        let found = checked_port(&text, &format!("openclaw.json after iteration {i}"));
        assert!(
            found == current || found == port,
            "iteration {i} ({delay:?}): port {found}, expected {current} or {port}"
        );
        if status.success() {
            assert_eq!(found, port, "iteration {i}: a finished set must be visible");
        }
        assert!(
            text.starts_with("// survives every kill\n"),
            "iteration {i}: comment lost:\n{text}"
        );
        if let Ok(backup) = std::fs::read_to_string(env.backup_path()) {
            checked_port(&backup, &format!("openclaw.json.bak after iteration {i}"));
        }
        current = found;
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "kill loop too slow: {i} iterations in {:?}",
            started.elapsed()
        );
    }

    // The loop must have exercised both outcomes, or it proved nothing.
    assert!(
        interrupted > 0,
        "no run was interrupted ({finished} finished)"
    );
    assert!(finished > 0, "no run finished ({interrupted} interrupted)");

    let stray = leftovers(&env.state_dir());
    for name in &stray {
        assert!(
            name.starts_with("openclaw.json.tmp-") || name.starts_with("openclaw.json.bak.tmp-"),
            "unexpected file {name} in {stray:?}"
        );
    }
    eprintln!(
        "kill loop: {ITERATIONS} runs in {:?}, {finished} finished, {interrupted} killed, \
         {} stray temp file(s) left: {stray:?}",
        started.elapsed(),
        stray.len()
    );

    // After all that, normal commands work on the file.
    let run = env.run(&["config", "get", "gateway.port"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), current.to_string());
    env.ok(&["config", "set", "gateway.port", "19001"]);
    env.ok(&["config", "validate"]);
}

/// Temp files left by killed writers are cleaned up (or at least do not pile up).
#[test]
fn killed_writes_do_not_pile_up_temp_files() {
    let env = Env::new();
    env.write_config(INITIAL);
    let mut delays = Delays(0x2545_f491_4f6c_dd1d);
    for i in 0..150u32 {
        let mut child = openclaw(
            &env,
            &["config", "set", "gateway.port", &(3000 + i).to_string()],
        )
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_micros(delays.next_micros(3000)));
        let _ = child.kill();
        child.wait().unwrap();
    }
    // One clean write afterwards; what is left over now stays forever.
    env.ok(&["config", "set", "gateway.port", "19001"]);
    let stray = leftovers(&env.state_dir());
    assert!(
        stray.len() <= 1,
        "{} stray temp files: {stray:?}",
        stray.len()
    );
}

/// Writers racing each other: the file always ends as one writer's complete result.
#[test]
fn concurrent_config_sets_leave_one_complete_file() {
    let env = Env::new();
    env.write_config(INITIAL);
    let ports: BTreeSet<u64> = (5000..5012).collect();
    let children: Vec<_> = ports
        .iter()
        .map(|p| {
            openclaw(&env, &["config", "set", "gateway.port", &p.to_string()])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let found = checked_port(&env.read_config(), "openclaw.json");
    assert!(ports.contains(&found), "{found}");
    assert!(env.read_config().starts_with("// survives every kill\n"));
    assert_eq!(leftovers(&env.state_dir()), Vec::<String>::new());
}
