//! Where Ollama listens, worked out the way Ollama's own CLI does it.
//!
//! Users who moved Ollama (`OLLAMA_HOST=0.0.0.0:11435`, `OLLAMA_HOST=gpu-box`) expect every
//! client to follow, so `OLLAMA_HOST` is read with Ollama's rules (its `envconfig` package):
//! quotes and spaces trimmed; no scheme means `http` and port 11434; an explicit `http://` or
//! `https://` without a port means 80 or 443; an invalid port falls back to the default.

/// Ollama's default address.
pub const DEFAULT_OLLAMA_BASE: &str = "http://127.0.0.1:11434";

/// The base URL (`scheme://host:port[/path]`, no trailing slash) for an `OLLAMA_HOST` value.
pub fn base_from_ollama_host(value: &str) -> String {
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if value.is_empty() {
        return DEFAULT_OLLAMA_BASE.to_string();
    }
    let (scheme, rest, default_port) = match value.split_once("://") {
        None => ("http", value, "11434"),
        Some((s, r)) if s.eq_ignore_ascii_case("https") => ("https", r, "443"),
        Some((s, r)) if s.eq_ignore_ascii_case("http") => ("http", r, "80"),
        Some((s, r)) => (s, r, "11434"),
    };
    let rest = rest.trim_end_matches('/');
    let (hostport, path) = match rest.split_once('/') {
        Some((h, p)) => (h, format!("/{}", p.trim_end_matches('/'))),
        None => (rest, String::new()),
    };
    let (host, port) = split_host_port(hostport)
        .map(|(h, p)| {
            let valid = p.parse::<u16>().is_ok();
            (
                h.to_string(),
                if valid {
                    p.to_string()
                } else {
                    default_port.to_string()
                },
            )
        })
        .unwrap_or_else(|| {
            let bare = hostport.trim_start_matches('[').trim_end_matches(']');
            let host = if bare.is_empty() {
                "127.0.0.1".to_string()
            } else {
                bare.to_string()
            };
            (host, default_port.to_string())
        });
    // A server listening on "all interfaces" is reached on loopback.
    let host = match host.as_str() {
        "0.0.0.0" => "127.0.0.1".to_string(),
        "::" => "::1".to_string(),
        _ => host,
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    format!("{scheme}://{host}:{port}{path}")
}

/// `host:port` or `[v6]:port` → (host, port); `None` when there is no port.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    // A bare IPv6 address has several colons and no port.
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

/// Strips a trailing `/` and `/v1` from a configured base URL to get Ollama's native base.
pub fn native_base(base_url: &str) -> String {
    let trimmed = base_url.trim().trim_end_matches('/');
    trimmed
        .strip_suffix("/v1")
        .unwrap_or(trimmed)
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ollama_host_like_ollama() {
        let cases = [
            ("", "http://127.0.0.1:11434"),
            ("0.0.0.0", "http://127.0.0.1:11434"),
            ("0.0.0.0:11435", "http://127.0.0.1:11435"),
            ("gpu-box", "http://gpu-box:11434"),
            ("gpu-box:9999", "http://gpu-box:9999"),
            ("http://gpu-box", "http://gpu-box:80"),
            (
                "https://ollama.example.com",
                "https://ollama.example.com:443",
            ),
            (
                "https://ollama.example.com:8443/",
                "https://ollama.example.com:8443",
            ),
            ("\"127.0.0.1:11434\"", "http://127.0.0.1:11434"),
            ("[::1]:11434", "http://[::1]:11434"),
            ("::1", "http://[::1]:11434"),
            ("example.com:abc", "http://example.com:11434"),
            ("http://proxy:8080/ollama", "http://proxy:8080/ollama"),
        ];
        for (input, want) in cases {
            assert_eq!(base_from_ollama_host(input), want, "OLLAMA_HOST={input}");
        }
    }

    #[test]
    fn native_base_drops_v1() {
        assert_eq!(
            native_base("http://ollama-host:11434/v1"),
            "http://ollama-host:11434"
        );
        assert_eq!(
            native_base("http://ollama-host:11434/v1/"),
            "http://ollama-host:11434"
        );
        assert_eq!(native_base("http://h:1/"), "http://h:1");
    }
}
