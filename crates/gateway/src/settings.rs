//! Where the gateway listens and how it authenticates, resolved from flags, config and
//! environment before anything is bound.
//!
//! The rules (SPEC §7, docs/gateway-protocol.md): loopback by default; a token is on by
//! default even on loopback, because any web page the user visits can reach loopback; the
//! token comes from `gateway.auth.token`, else `OPENCLAW_GATEWAY_TOKEN`, else a token generated
//! once and kept in `<state>/gateway/token` (mode 0600); `gateway.auth.mode: "none"` is
//! accepted on loopback only.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use openclaw_config::{GatewayConfig, StatePaths};

use crate::error::GatewayError;

/// The port when neither `--port` nor `gateway.port` says otherwise.
pub const DEFAULT_PORT: u16 = 18789;
/// Environment variable holding the gateway token.
pub const TOKEN_ENV: &str = "OPENCLAW_GATEWAY_TOKEN";

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// `Authorization: Bearer <token>` / `connect.params.token`.
    Token(String),
    /// No authentication (loopback only).
    None,
}

impl std::fmt::Debug for AuthMode {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthMode::Token(_) => f.write_str("Token(…)"),
            AuthMode::None => f.write_str("None"),
        }
    }
}

/// Where the token came from (for the start-up message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Config,
    Env,
    /// Read from (or, when `created`, generated into) the token file.
    File {
        path: PathBuf,
        created: bool,
    },
    /// `gateway.auth.mode: "none"`.
    Disabled,
}

/// The resolved authentication.
#[derive(Debug, Clone)]
pub struct ResolvedAuth {
    pub mode: AuthMode,
    pub source: TokenSource,
}

/// `--bind` / `gateway.bind` as an IP address: `loopback` (and the original's `auto`) →
/// 127.0.0.1, `lan` → 0.0.0.0, else an IP address.
pub fn parse_bind(value: &str) -> Result<IpAddr, GatewayError> {
    let v = value.trim();
    let bad = |reason| GatewayError::BadBind {
        value: value.to_string(),
        reason,
    };
    match v.to_ascii_lowercase().as_str() {
        "" | "loopback" | "auto" | "localhost" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        "lan" => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        "tailnet" => Err(bad("Tailscale binding is not supported by openclaw-rs yet")),
        "custom" => Err(bad(
            "`custom` is not supported; give the address itself to `--bind`",
        )),
        _ => v
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| bad("it is neither `loopback`, `lan` nor an IP address")),
    }
}

/// Whether only this machine can connect to `ip`.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The address to listen on: `--bind` over `gateway.bind`, `--port` over `gateway.port`.
pub fn listen_addr(
    config: &GatewayConfig,
    bind_flag: Option<&str>,
    port_flag: Option<u16>,
) -> Result<SocketAddr, GatewayError> {
    let ip = parse_bind(bind_flag.or(config.bind.as_deref()).unwrap_or("loopback"))?;
    let port = port_flag.or(config.port).unwrap_or(DEFAULT_PORT);
    Ok(SocketAddr::new(ip, port))
}

/// Resolves the authentication for a gateway listening on `addr`, generating and storing a
/// token on first start when none is configured.
pub fn resolve_auth(
    config: &GatewayConfig,
    env: &dyn Fn(&str) -> Option<String>,
    paths: &StatePaths,
    addr: SocketAddr,
) -> Result<ResolvedAuth, GatewayError> {
    match config.auth.mode.as_deref().map(str::trim) {
        None | Some("token") => {}
        Some("none") => {
            if !is_loopback(addr.ip()) {
                return Err(GatewayError::UnauthenticatedNonLoopback { addr });
            }
            return Ok(ResolvedAuth {
                mode: AuthMode::None,
                source: TokenSource::Disabled,
            });
        }
        Some(other) => return Err(GatewayError::UnsupportedAuthMode(other.to_string())),
    }
    let configured = |t: Option<String>| t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if let Some(token) = configured(config.auth.token.clone()) {
        return Ok(ResolvedAuth {
            mode: AuthMode::Token(token),
            source: TokenSource::Config,
        });
    }
    if let Some(token) = configured(env(TOKEN_ENV)) {
        return Ok(ResolvedAuth {
            mode: AuthMode::Token(token),
            source: TokenSource::Env,
        });
    }
    let path = token_path(paths);
    let (token, created) = load_or_create_token(&path)?;
    Ok(ResolvedAuth {
        mode: AuthMode::Token(token),
        source: TokenSource::File { path, created },
    })
}

/// `<state>/gateway`: token, pid and port files.
pub fn gateway_dir(paths: &StatePaths) -> PathBuf {
    paths.state_dir.join("gateway")
}

/// `<state>/gateway/token`.
pub fn token_path(paths: &StatePaths) -> PathBuf {
    gateway_dir(paths).join("token")
}

/// Reads the token file, or writes a fresh token into it (mode 0600, directory 0700).
pub fn load_or_create_token(path: &Path) -> Result<(String, bool), GatewayError> {
    let err = |action: &'static str| {
        move |source| GatewayError::TokenFile {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok((text.trim().to_string(), false)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err("read")(e)),
    }
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(err("create the directory of"))?;
    }
    let token = random_hex(32).map_err(err("generate a random value for"))?;
    // Write to a private temp file, then rename: a concurrent start never sees half a token.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = private_file(&tmp).map_err(err("write"))?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(err("write"))?;
    std::fs::rename(&tmp, path).map_err(err("write"))?;
    Ok((token, true))
}

/// `n` random bytes from the OS, as lower-case hex.
pub fn random_hex(n: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates `dir` (and parents); the last component is private to the user.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// A new file readable and writable by the user only.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_config::GatewayAuth;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn cfg(mode: Option<&str>, token: Option<&str>) -> GatewayConfig {
        GatewayConfig {
            auth: GatewayAuth {
                mode: mode.map(String::from),
                token: token.map(String::from),
            },
            ..GatewayConfig::default()
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bind_values() {
        assert_eq!(
            parse_bind("loopback").unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            parse_bind("lan").unwrap(),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        );
        assert_eq!(parse_bind("::1").unwrap(), "::1".parse::<IpAddr>().unwrap());
        assert_eq!(
            parse_bind("[::1]").unwrap(),
            "::1".parse::<IpAddr>().unwrap()
        );
        assert!(parse_bind("example.com")
            .unwrap_err()
            .to_string()
            .contains("hint"));
        assert!(is_loopback("127.0.0.2".parse().unwrap()));
        assert!(!is_loopback("0.0.0.0".parse().unwrap()));
        let c = GatewayConfig {
            port: Some(19001),
            bind: Some("lan".into()),
            ..GatewayConfig::default()
        };
        assert_eq!(listen_addr(&c, None, None).unwrap(), addr("0.0.0.0:19001"));
        assert_eq!(
            listen_addr(&c, Some("loopback"), Some(0)).unwrap(),
            addr("127.0.0.1:0")
        );
    }

    #[test]
    fn auth_none_is_refused_off_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let paths = StatePaths::in_dir(dir.path());
        let none = cfg(Some("none"), None);
        let err = resolve_auth(&none, &no_env, &paths, addr("0.0.0.0:1")).unwrap_err();
        assert!(err.to_string().contains("loopback only"), "{err}");
        let ok = resolve_auth(&none, &no_env, &paths, addr("127.0.0.1:1")).unwrap();
        assert_eq!(ok.mode, AuthMode::None);
        let bad = resolve_auth(
            &cfg(Some("password"), None),
            &no_env,
            &paths,
            addr("127.0.0.1:1"),
        );
        assert!(matches!(bad, Err(GatewayError::UnsupportedAuthMode(_))));
    }

    #[test]
    fn token_precedence_config_env_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = StatePaths::in_dir(dir.path());
        let env = |k: &str| (k == TOKEN_ENV).then(|| "from-env".to_string());
        let a = resolve_auth(
            &cfg(None, Some("from-config")),
            &env,
            &paths,
            addr("127.0.0.1:1"),
        )
        .unwrap();
        assert_eq!(a.mode, AuthMode::Token("from-config".into()));
        let a = resolve_auth(&cfg(None, None), &env, &paths, addr("127.0.0.1:1")).unwrap();
        assert_eq!(a.source, TokenSource::Env);
        let first = resolve_auth(&cfg(None, None), &no_env, &paths, addr("0.0.0.0:1")).unwrap();
        let AuthMode::Token(token) = &first.mode else {
            panic!()
        };
        assert_eq!(token.len(), 64);
        assert!(matches!(
            first.source,
            TokenSource::File { created: true, .. }
        ));
        let again = resolve_auth(&cfg(None, None), &no_env, &paths, addr("127.0.0.1:1")).unwrap();
        assert_eq!(again.mode, first.mode);
        assert!(matches!(
            again.source,
            TokenSource::File { created: false, .. }
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(token_path(&paths))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(gateway_dir(&paths))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
    }
}
