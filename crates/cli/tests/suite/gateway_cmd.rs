//! `openclaw gateway`: start-up on any free port, `/health`, `status`/`stop` through the
//! pid/port file, the token file, the refusal of an unauthenticated non-loopback bind, and
//! `install --print`.

use openclaw_test_support::gateway::http;

use super::support::Env;

/// `GET path` over plain HTTP/1.1: the status line, then the body.
fn get(port: u16, path: &str, token: Option<&str>) -> String {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = http::request(port, "GET", path, &headers, None);
    format!("{}\r\n{}", r.status_line, r.text())
}

#[test]
fn gateway_on_port_0_serves_health_and_is_managed_by_status_and_stop() {
    let env = Env::new();
    let mut gw = env.spawn_gateway(&["gateway", "--port", "0"]);
    let port = gw.port();
    assert_ne!(port, 0);
    // The page URL carries the generated token, which is stored 0600.
    let token_path = env.state_dir().join("gateway/token");
    let token = std::fs::read_to_string(&token_path)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token.len(), 64);
    let open = gw.line_starting("open ");
    assert_eq!(open, format!("open http://127.0.0.1:{port}/#token={token}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let health = get(port, "/health", None);
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#"{"ok":true}"#), "{health}");
    assert!(get(port, "/v1/models", None).starts_with("HTTP/1.1 401"));
    let models = get(port, "/v1/models", Some(&token));
    assert!(
        models.starts_with("HTTP/1.1 200") && models.contains("openclaw/main"),
        "{models}"
    );

    let status = env.json(&["gateway", "status", "--json"]);
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["healthy"], true, "{status}");
    assert_eq!(status["port"], port);
    assert_eq!(status["pid"], gw.pid());

    env.ok(&["gateway", "stop"])
        .assert_stderr_contains("gateway stopped");
    assert!(gw.wait_exit().success());
    assert!(!env
        .state_dir()
        .join(format!("gateway/gateway-{port}.json"))
        .exists());
    env.run(&["gateway", "status"])
        .assert_code(3)
        .assert_stderr_contains("no gateway is running");
}

#[test]
fn the_token_comes_from_the_environment_when_set() {
    let env = Env::new().var("OPENCLAW_GATEWAY_TOKEN", "env-token-123");
    let mut gw = env.spawn_gateway(&["gateway", "--port", "0"]);
    let port = gw.port();
    assert!(get(port, "/v1/models", Some("env-token-123")).starts_with("HTTP/1.1 200"));
    assert!(!env.state_dir().join("gateway/token").exists());
}

#[test]
fn a_non_loopback_bind_without_auth_is_refused() {
    let env = Env::new();
    env.write_config(r#"{ gateway: { auth: { mode: "none" } } }"#);
    let run = env.run(&["gateway", "--bind", "lan", "--port", "0"]);
    run.assert_code(1)
        .assert_stderr_contains("refusing to listen on 0.0.0.0:0 without authentication")
        .assert_stderr_contains("loopback only");
    let bad = env.run(&["gateway", "--bind", "example.com", "--port", "0"]);
    bad.assert_code(1)
        .assert_stderr_contains("is not a bind address");
}

#[test]
fn auth_mode_none_is_allowed_on_loopback() {
    let env = Env::new();
    env.write_config(r#"{ gateway: { auth: { mode: "none" } } }"#);
    let mut gw = env.spawn_gateway(&["gateway", "--port", "0"]);
    let port = gw.port();
    assert!(get(port, "/v1/models", None).starts_with("HTTP/1.1 200"));
}

#[test]
fn install_print_shows_a_systemd_user_unit() {
    let env = Env::new().var("OLLAMA_API_KEY", "ollama-local");
    let run = env.ok(&["gateway", "install", "--print", "--port", "19001"]);
    let unit = &run.stdout;
    assert!(
        unit.contains("[Unit]") && unit.contains("[Service]") && unit.contains("[Install]"),
        "{unit}"
    );
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(
        exec.starts_with("ExecStart=\"/") && exec.ends_with("/openclaw\" gateway --port 19001"),
        "{exec}"
    );
    // The key is read from a private file the unit names, never written into the unit.
    assert!(!unit.contains("ollama-local"), "{unit}");
    assert!(unit.contains("\nEnvironmentFile=-"), "{unit}");
    assert!(unit.contains("WantedBy=default.target"));
    // --print writes nothing.
    assert!(!env.home().join(".config/systemd").exists());
}

/// Several gateways of one state dir: `status` lists each, a second start on a taken port
/// names the first, a bind to another loopback address is announced with that address, and
/// `stop` stops them all.
#[test]
fn status_and_stop_see_every_instance_and_a_taken_port_is_named() {
    let env = Env::new();
    let mut first = env.spawn_gateway(&["gateway", "--port", "0"]);
    let port = first.port();
    let mut second = env.spawn_gateway(&["gateway", "--port", "0", "--bind", "127.0.0.2"]);
    let line = second.line_starting("listening on ");
    assert!(line.starts_with("listening on http://127.0.0.2:"), "{line}");
    let second_port: u16 = line.rsplit(':').next().unwrap().parse().unwrap();

    let mut third = env.spawn_gateway(&["gateway", "--port", &port.to_string()]);
    assert!(!third.wait_exit().success());
    let err = third.stderr_lines().join("\n");
    assert!(
        err.contains(&format!("already runs on port {port}"))
            && err.contains(&first.pid().to_string()),
        "{err}"
    );

    let status = env.json(&["gateway", "status", "--json"]);
    let instances = status["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2, "{status:#}");
    let ports: Vec<u64> = instances
        .iter()
        .map(|i| i["port"].as_u64().unwrap())
        .collect();
    assert!(ports.contains(&u64::from(port)) && ports.contains(&u64::from(second_port)));
    assert!(instances.iter().all(|i| i["healthy"] == true), "{status:#}");
    let url = instances.iter().find(|i| i["port"] == second_port).unwrap()["url"].clone();
    assert_eq!(url, format!("http://127.0.0.2:{second_port}/"));

    env.ok(&["gateway", "stop"]);
    assert!(first.wait_exit().success());
    assert!(second.wait_exit().success());
    let left: Vec<_> = std::fs::read_dir(env.state_dir().join("gateway"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A gateway killed with SIGKILL leaves its record behind; `status` sees the lock is free
/// and reports nothing running.
#[test]
fn a_killed_gateways_record_is_recognised_as_stale() {
    let env = Env::new();
    let mut gw = env.spawn_gateway(&["gateway", "--port", "0"]);
    let port = gw.port();
    assert!(!gw.kill().success());
    assert!(env
        .state_dir()
        .join(format!("gateway/gateway-{port}.json"))
        .exists());
    env.run(&["gateway", "status"]).assert_code(3);
    assert!(!env
        .state_dir()
        .join(format!("gateway/gateway-{port}.json"))
        .exists());
}
