//! Where the gateway listens and how it authenticates, resolved from flags, config and
//! environment before anything is bound.
//!
//! The rules (docs/gateway-protocol.md): loopback by default; a token is on by default even on
//! loopback, because any web page the user visits can reach loopback; the token comes from
//! `gateway.auth.token`, else `OPENCLAW_GATEWAY_TOKEN`, else a token generated once and kept in
//! `<state>/gateway/token` (mode 0600); `gateway.auth.mode: "none"` is accepted on loopback
//! only. A token that is easy to guess (short, one character or a short pattern repeated,
//! digits only, common words) is refused for any other address and warned about on loopback:
//! the brake slows guessing down, it cannot make a guessable token safe.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use openclaw_config::{vars, Env, GatewayAuthMode, GatewayConfig, StatePaths};

use crate::error::GatewayError;

/// The port when neither `--port` nor `gateway.port` says otherwise.
pub const DEFAULT_PORT: u16 = 18789;
/// Environment variable holding the gateway token.
pub const TOKEN_ENV: &str = vars::OPENCLAW_GATEWAY_TOKEN;

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
    /// Why the token is easy to guess, when it is (accepted on loopback only); for a warning.
    pub weakness: Option<String>,
}

impl TokenSource {
    /// Where the token was set, in the words of the config (never the token itself).
    pub fn describe(&self) -> String {
        match self {
            TokenSource::Config => "`gateway.auth.token`".to_string(),
            TokenSource::Env => format!("`{TOKEN_ENV}`"),
            TokenSource::File { path, .. } => path.display().to_string(),
            TokenSource::Disabled => "nowhere (authentication is off)".to_string(),
        }
    }

    /// How to replace a weak token from this source with a strong one.
    pub fn strong_token_hint(&self) -> String {
        match self {
            TokenSource::File { path, .. } => format!(
                "delete {} and start the gateway again: it generates a random token (32 bytes)",
                path.display()
            ),
            TokenSource::Env => format!(
                "set a random one: `export {TOKEN_ENV}=\"$(openssl rand -hex 32)\"`, or unset {TOKEN_ENV} and the gateway generates one"
            ),
            _ => "set a random one: `openclaw config set gateway.auth.token \"$(openssl rand -hex 32)\"`, or `openclaw config unset gateway.auth.token` and the gateway generates one".to_string(),
        }
    }
}

/// Fewer characters than this make a weak token (24 hex characters are 96 bits).
pub const MIN_TOKEN_CHARS: usize = 24;

/// Words that people put in tokens they make up; a token that is mostly these is guessable
/// however long it is.
const COMMON_WORDS: &str = "password passwd secret token gateway openclaw ollama changeme change \
    default admin letmein welcome qwerty example test local localhost login access private super \
    key api my the abc 123456789 12345 1234 123 000";

/// Why `token` is easy to guess, or `None` when it looks random enough. A heuristic: it
/// catches tokens people make up, not every weak one; a token from `openssl rand -hex 32`
/// (or the one the gateway generates) passes in practice.
pub fn token_weakness(token: &str) -> Option<String> {
    let chars: Vec<char> = token.chars().collect();
    let n = chars.len();
    if n < MIN_TOKEN_CHARS {
        return Some(format!(
            "it is {n} characters long; at least {MIN_TOKEN_CHARS} random ones are needed"
        ));
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() == 1 {
        return Some("it is one character repeated".to_string());
    }
    if distinct.len() < 6 {
        return Some(format!(
            "it uses only {} different characters",
            distinct.len()
        ));
    }
    let repeats = |p: usize| {
        let mut parts = chars.chunks_exact(p);
        parts.all(|c| c == &chars[..p]) && parts.remainder().is_empty()
    };
    if (1..=n / 2).any(repeats) {
        return Some("it is a short sequence repeated".to_string());
    }
    if chars.iter().all(char::is_ascii_digit) && n < 32 {
        return Some(format!(
            "it is {n} digits only; digits alone need at least 32"
        ));
    }
    let letters = chars.iter().filter(|c| c.is_alphabetic()).count();
    let wordy = chars
        .iter()
        .all(|c| c.is_alphabetic() || matches!(c, '-' | '_' | '.' | ' '));
    let one_case =
        !chars.iter().any(|c| c.is_lowercase()) || !chars.iter().any(|c| c.is_uppercase());
    if wordy && one_case && letters < 32 {
        return Some("it is letters only, like a word or a phrase".to_string());
    }
    let mut rest = token.to_lowercase();
    for word in COMMON_WORDS.split_whitespace() {
        rest = rest.replace(word, "");
    }
    let left = rest.chars().filter(|c| c.is_alphanumeric()).count();
    if left < 12 {
        return Some(
            "it is made mostly of common words (like `secret`, `token`, `password`)".to_string(),
        );
    }
    None
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
    env: &Env,
    paths: &StatePaths,
    addr: SocketAddr,
) -> Result<ResolvedAuth, GatewayError> {
    match config.auth.mode.unwrap_or_default() {
        GatewayAuthMode::Token => {}
        GatewayAuthMode::Disabled => {
            if !is_loopback(addr.ip()) {
                return Err(GatewayError::UnauthenticatedNonLoopback { addr });
            }
            return Ok(ResolvedAuth {
                mode: AuthMode::None,
                source: TokenSource::Disabled,
                weakness: None,
            });
        }
        other @ (GatewayAuthMode::Password | GatewayAuthMode::TrustedProxy) => {
            return Err(GatewayError::UnsupportedAuthMode(
                other.as_str().to_string(),
            ))
        }
    }
    let configured = |t: Option<String>| t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let (token, source) = if let Some(token) = configured(config.auth.token.clone()) {
        (token, TokenSource::Config)
    } else if let Some(token) = configured(env.get(TOKEN_ENV)) {
        (token, TokenSource::Env)
    } else {
        let path = token_path(paths);
        let (token, created) = load_or_create_token(&path)?;
        (token, TokenSource::File { path, created })
    };
    let weakness = token_weakness(&token);
    if let Some(reason) = &weakness {
        if !is_loopback(addr.ip()) {
            return Err(GatewayError::WeakToken {
                addr,
                from: source.describe(),
                reason: reason.clone(),
                hint: source.strong_token_hint(),
            });
        }
    }
    Ok(ResolvedAuth {
        mode: AuthMode::Token(token),
        source,
        weakness,
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

/// Creates `dir` and any missing parents, private to the user (0700).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    openclaw_config::create_private_dir(dir)
}

/// A new (or truncated) file readable and writable by the user only.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    openclaw_config::private_file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_config::GatewayAuth;

    fn no_env() -> Env {
        Env::default()
    }

    fn cfg(mode: Option<&str>, token: Option<&str>) -> GatewayConfig {
        GatewayConfig {
            auth: GatewayAuth {
                mode: mode.map(|m| GatewayAuthMode::parse(m).unwrap()),
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
        let err = resolve_auth(&none, &no_env(), &paths, addr("0.0.0.0:1")).unwrap_err();
        assert!(err.to_string().contains("loopback only"), "{err}");
        let ok = resolve_auth(&none, &no_env(), &paths, addr("127.0.0.1:1")).unwrap();
        assert_eq!(ok.mode, AuthMode::None);
        let bad = resolve_auth(
            &cfg(Some("password"), None),
            &no_env(),
            &paths,
            addr("127.0.0.1:1"),
        );
        assert!(matches!(bad, Err(GatewayError::UnsupportedAuthMode(_))));
    }

    #[test]
    fn weak_tokens_are_recognised() {
        for weak in [
            "short",
            "env-token-123",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abababababababababababababababab",
            "passwordpasswordpassword",
            "0123456789012345678901234567",
            "123456789012345678901234",
            "correcthorsebatterystaple",
            "my-super-secret-gateway-token",
            "MY_SECRET_OPENCLAW_TOKEN_2024",
            "abc123abc123abc123abc123abc123",
        ] {
            assert!(token_weakness(weak).is_some(), "{weak} passed");
        }
        for strong in [
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "3fa9c0e2d41b77a8e5f60c19",
            "Zk4nW8q2-Lr7xT0pVb3cYh6m",
            "83920174659102837465019283746510293",
        ] {
            assert_eq!(token_weakness(strong), None, "{strong}");
        }
        // Generated tokens always pass.
        for _ in 0..50 {
            let t = random_hex(32).unwrap();
            assert_eq!(token_weakness(&t), None, "{t}");
        }
    }

    #[test]
    fn a_weak_token_is_refused_beyond_loopback_and_flagged_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let paths = StatePaths::in_dir(dir.path());
        let weak = "hunter2-hunter2";
        let env = Env::from_vars([(TOKEN_ENV, weak)]);
        for (config, env) in [(cfg(None, Some(weak)), &no_env()), (cfg(None, None), &env)] {
            let err = resolve_auth(&config, env, &paths, addr("0.0.0.0:1")).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("weak gateway token") && text.contains("openssl rand -hex 32"),
                "{text}"
            );
            assert!(!text.contains("hunter2"), "the token is not quoted: {text}");
            let ok = resolve_auth(&config, env, &paths, addr("127.0.0.1:1")).unwrap();
            assert!(ok.weakness.is_some());
        }
        // A token file someone edited to a weak value.
        std::fs::create_dir_all(gateway_dir(&paths)).unwrap();
        std::fs::write(token_path(&paths), "1234\n").unwrap();
        let err = resolve_auth(&cfg(None, None), &no_env(), &paths, addr("[::]:1")).unwrap_err();
        assert!(err.to_string().contains("delete"), "{err}");
        let strong = resolve_auth(
            &cfg(None, Some(&random_hex(32).unwrap())),
            &no_env(),
            &paths,
            addr("0.0.0.0:1"),
        )
        .unwrap();
        assert!(strong.weakness.is_none());
    }

    #[test]
    fn token_precedence_config_env_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = StatePaths::in_dir(dir.path());
        let env = Env::from_vars([(TOKEN_ENV, "from-env")]);
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
        let first = resolve_auth(&cfg(None, None), &no_env(), &paths, addr("0.0.0.0:1")).unwrap();
        let AuthMode::Token(token) = &first.mode else {
            panic!()
        };
        assert_eq!(token.len(), 64);
        assert!(matches!(
            first.source,
            TokenSource::File { created: true, .. }
        ));
        let again = resolve_auth(&cfg(None, None), &no_env(), &paths, addr("127.0.0.1:1")).unwrap();
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
