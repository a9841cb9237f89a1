//! The config file under concurrent writers, behind a symlink, with a byte order mark, and
//! replaced by things that are not files: edits never get lost, a dotfiles symlink stays a
//! symlink, and nothing hangs or eats memory.

use std::time::{Duration, Instant};

use super::support::Env;

#[test]
fn fifty_concurrent_config_sets_of_different_keys_all_land() {
    let env = Env::new();
    env.write_config("// my settings\n{ gateway: { port: 18789 } }\n");
    let children: Vec<_> = (0..50)
        .map(|i| {
            env.std_command(&[
                "config",
                "set",
                &format!("agents.defaults.models[\"ollama/m{i}\"].alias"),
                &format!("a{i}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let value = env.config_value();
    let models = value["agents"]["defaults"]["models"].as_object().unwrap();
    assert_eq!(models.len(), 50, "{value:#}");
    for i in 0..50 {
        assert_eq!(models[&format!("ollama/m{i}")]["alias"], format!("a{i}"));
    }
    assert!(env.read_config().starts_with("// my settings\n"));
}

#[test]
fn a_symlinked_config_is_edited_where_it_points() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let dotfiles = env.home().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("openclaw.json");
    std::fs::write(&real, "{ gateway: { port: 18789 } }\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::os::unix::fs::symlink("../dotfiles/openclaw.json", env.config_path()).unwrap();
    env.ok(&["config", "set", "gateway.port", "19000"]);
    assert!(std::fs::symlink_metadata(env.config_path())
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("19000"));
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let env = Env::new();
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::fs::write(
        env.config_path(),
        b"\xEF\xBB\xBF{ gateway: { port: 18790 } }\n",
    )
    .unwrap();
    let run = env.ok(&["config", "get", "gateway.port"]);
    assert!(run.stdout.contains("18790"), "{}", run.stdout);
}

#[test]
fn a_fifo_or_a_device_as_config_fails_at_once_with_what_it_is() {
    let env = Env::new();
    std::fs::create_dir_all(env.state_dir()).unwrap();
    let fifo = env.state_dir().join("fifo.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for (path, what) in [(fifo.to_str().unwrap(), "FIFO"), ("/dev/zero", "device")] {
        let env = Env::new().var("OPENCLAW_CONFIG_PATH", path);
        let started = Instant::now();
        let run = env.run(&["config", "get", "gateway.port"]);
        assert_ne!(run.code, Some(0));
        assert!(run.stderr.contains(what), "{}", run.stderr);
        assert!(started.elapsed() < Duration::from_secs(30), "it hung");
    }
}

#[test]
fn invalid_utf8_is_reported_once_with_its_position() {
    let env = Env::new();
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::fs::write(
        env.config_path(),
        b"{\n  gateway: { port: 1 }, // \xff\n}\n",
    )
    .unwrap();
    let run = env.run(&["config", "get", "gateway.port"]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("openclaw.json:2:"), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("not valid UTF-8").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn thousands_of_errors_are_capped() {
    let env = Env::new();
    let keys: String = (0..5000).map(|i| format!("unknownKey{i}: 1,\n")).collect();
    env.write_config(&format!("{{\n{keys}}}\n"));
    let run = env.run(&["config", "validate"]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("and 4980 more"),
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
    assert!(
        run.stderr.len() < 20_000,
        "{} bytes of errors",
        run.stderr.len()
    );
}
