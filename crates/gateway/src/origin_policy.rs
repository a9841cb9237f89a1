//! Which `Host` and `Origin` values are the gateway's own: the rule the request guard applies
//! to every request, settled once from the bind address and
//! `gateway.controlUi.allowedOrigins`.
//!
//! Its own module because the shared state builds and holds it while the guard's middleware
//! applies it: kept inside the guard, the state would import the module whose middleware reads
//! the state. It judges text only; reading the headers stays with the guard.

use std::net::IpAddr;

use crate::settings::is_loopback;

/// Which `Host` and `Origin` values are the gateway's own.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// The address listened on.
    pub bind_ip: IpAddr,
    /// `gateway.controlUi.allowedOrigins`, normalised (`scheme://host[:port]`, lower case).
    pub allowed_origins: Vec<String>,
    /// Names of this machine accepted as `Host` when listening beyond loopback.
    pub host_names: Vec<String>,
}

impl OriginPolicy {
    /// The policy for a gateway listening on `bind_ip` with these configured origins.
    pub fn new(bind_ip: IpAddr, allowed_origins: &[String]) -> Self {
        let host_names = if is_loopback(bind_ip) {
            Vec::new()
        } else {
            machine_names()
        };
        Self {
            bind_ip,
            allowed_origins: allowed_origins
                .iter()
                .map(|o| normalize_origin(o))
                .filter(|o| !o.is_empty())
                .collect(),
            host_names,
        }
    }

    /// Whether a request with this `Host` value is for us.
    pub fn host_allowed(&self, host_header: &str) -> bool {
        let host = host_only(host_header).to_ascii_lowercase();
        if host.is_empty() {
            return false;
        }
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            // An address literal cannot be rebound. Loopback always; others when we listen
            // on them (any of them, for 0.0.0.0).
            return is_loopback(ip) || self.bind_ip.is_unspecified() || ip == self.bind_ip;
        }
        self.host_names.contains(&host)
            || self.allowed_origins.iter().any(|o| {
                host_only(o.split_once("://").map_or(o.as_str(), |(_, rest)| rest)) == host
            })
    }

    /// Whether `origin` may use the gateway, given the request's `Host`.
    pub fn origin_allowed(&self, origin: &str, host_header: Option<&str>) -> bool {
        let origin = normalize_origin(origin);
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false; // `null` and other opaque origins
        };
        let same_host = host_header.is_some_and(|h| h.trim().eq_ignore_ascii_case(authority));
        same_host && (scheme == "http" || scheme == "https")
    }

    /// Whether `origin` was configured (CORS applies to it).
    pub fn is_listed(&self, origin: &str) -> bool {
        self.allowed_origins.contains(&normalize_origin(origin))
    }
}

/// `https://Example.com/` → `https://example.com`.
fn normalize_origin(o: &str) -> String {
    o.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The host part of `host[:port]` / `[v6]:port`.
fn host_only(authority: &str) -> &str {
    let a = authority.trim();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match a.rsplit_once(':') {
        // One colon: host:port. More: a bare IPv6 address.
        Some((h, _)) if !h.contains(':') => h,
        _ => a,
    }
}

/// This machine's host name, and `name.local`.
fn machine_names() -> Vec<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and we read up to the first NUL only.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Vec::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    if name.is_empty() {
        return Vec::new();
    }
    let short = name.split('.').next().unwrap_or(&name).to_string();
    let mut names = vec![name.clone(), format!("{short}.local")];
    if short != name {
        names.push(short);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> OriginPolicy {
        OriginPolicy::new(
            "127.0.0.1".parse().unwrap(),
            &["https://app.example".into()],
        )
    }

    #[test]
    fn hosts() {
        let p = loopback();
        for ok in [
            "127.0.0.1:18789",
            "localhost:18789",
            "LOCALHOST",
            "[::1]:1",
            "a.localhost:5",
            "app.example",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.com:18789",
            "192.168.1.5:18789",
            "",
            "127.0.0.1.evil.com",
        ] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
        let lan = OriginPolicy::new("0.0.0.0".parse().unwrap(), &[]);
        assert!(lan.host_allowed("192.168.1.5:18789"));
        assert!(!lan.host_allowed("evil.com"));
        let fixed = OriginPolicy::new("10.0.0.7".parse().unwrap(), &[]);
        assert!(fixed.host_allowed("10.0.0.7:1"));
        assert!(!fixed.host_allowed("10.0.0.8:1"));
    }

    #[test]
    fn origins() {
        let p = loopback();
        assert!(p.origin_allowed("http://127.0.0.1:18789", Some("127.0.0.1:18789")));
        assert!(p.origin_allowed("http://localhost:18789", Some("localhost:18789")));
        assert!(!p.origin_allowed("http://localhost:18790", Some("localhost:18789")));
        assert!(!p.origin_allowed("https://evil.com", Some("127.0.0.1:18789")));
        assert!(!p.origin_allowed("null", Some("127.0.0.1:18789")));
        assert!(p.origin_allowed("https://app.example/", Some("127.0.0.1:18789")));
        assert!(p.is_listed("https://APP.example"));
        assert!(!p.origin_allowed("http://127.0.0.1:18789", None));
    }
}
