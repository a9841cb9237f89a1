//! Browser-facing defences that run before any route: the `Host` check (DNS rebinding), the
//! `Origin` check (cross-site requests and cross-site WebSockets) and CORS (closed unless
//! `gateway.controlUi.allowedOrigins` lists the origin).
//!
//! Why: a web page the user visits can make the browser talk to `127.0.0.1`. A page cannot set
//! `Authorization`, but it can open a WebSocket (browsers send `Origin`, which we check) and it
//! can point its own domain name at 127.0.0.1 (the browser then sends that name as `Host`,
//! which we refuse). Clients that are not browsers send neither header, or send them right.
//!
//! A `Host` or `Origin` header that is present but not visible ASCII (raw UTF-8 or Latin-1
//! bytes, inner spaces) is refused `400`: it cannot be compared with our names, and taking it
//! as absent would skip the check a browser-made request needs.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::GatewayError;
use crate::settings::is_loopback;
use crate::state::AppState;

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

/// Middleware: refuses foreign `Host`/`Origin`, answers CORS preflights for listed origins and
/// adds CORS headers to their responses.
pub async fn check_request(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let policy = &state.origin_policy;
    let headers = request.headers();
    let (host, origin) = match (
        readable_header(headers, header::HOST, "Host"),
        readable_header(headers, header::ORIGIN, "Origin"),
    ) {
        (Ok(host), Ok(origin)) => (host.map(str::to_string), origin.map(str::to_string)),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("refused a request: {e}");
            return e.into_response();
        }
    };
    if let Some(h) = &host {
        if !policy.host_allowed(h) {
            tracing::warn!(host = %h, "refused a request with a foreign Host header");
            return GatewayError::ForbiddenHost(h.clone()).into_response();
        }
    }
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    if !policy.origin_allowed(&origin, host.as_deref()) {
        tracing::warn!(origin = %origin, "refused a cross-origin request");
        return GatewayError::ForbiddenOrigin(origin).into_response();
    }
    let listed = policy.is_listed(&origin);
    if listed && request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        add_cors(response.headers_mut(), &origin);
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            allowed_headers(
                request
                    .headers()
                    .get(header::ACCESS_CONTROL_REQUEST_HEADERS),
            ),
        );
        h.append(
            header::VARY,
            HeaderValue::from_static("Access-Control-Request-Headers"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = next.run(request).await;
    if listed {
        add_cors(response.headers_mut(), &origin);
    }
    response
}

/// The headers a preflight allows: the ones the browser asks for (SDKs send their own, such
/// as the `openai` package's `x-stainless-*`), when they are a plain list of header names;
/// else the ones the gateway reads. Only configured origins get this far, and every header is
/// still subject to the token check.
fn allowed_headers(requested: Option<&HeaderValue>) -> HeaderValue {
    const OURS: &str = "authorization, content-type, x-openclaw-model";
    let names = requested
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|list| {
            !list.is_empty()
                && list.len() <= 4096
                && list.split(',').all(|name| {
                    let name = name.trim();
                    !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                })
        });
    names
        .and_then(|list| HeaderValue::from_str(list).ok())
        .unwrap_or(HeaderValue::from_static(OURS))
}

fn add_cors(headers: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The first `name` header as text: `Ok(None)` when absent, an error when present but not
/// visible ASCII (spaces and tabs only around the value, where HTTP allows them).
fn readable_header<'h>(
    headers: &'h HeaderMap,
    name: header::HeaderName,
    shown: &'static str,
) -> Result<Option<&'h str>, GatewayError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let inner = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .map_or(&bytes[..0], |start| {
            let end = bytes
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t'))
                .map_or(start, |e| e + 1);
            &bytes[start..end]
        });
    if !inner.iter().all(|b| b.is_ascii_graphic()) {
        return Err(GatewayError::UnreadableHeader(shown));
    }
    // Visible ASCII is UTF-8.
    std::str::from_utf8(inner)
        .map(Some)
        .map_err(|_| GatewayError::UnreadableHeader(shown))
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
    fn hosts_and_origins_must_be_visible_ascii() {
        let check = |name: header::HeaderName, value: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert(name.clone(), HeaderValue::from_bytes(value).unwrap());
            readable_header(&h, name, "X")
                .map(|v| v.map(str::to_string))
                .map_err(|e| e.status())
        };
        for bad in [
            "évil.example".as_bytes(),
            b"127.0.0.1\xe9:1",
            b"\xff",
            b"127.0.0.1 :1",
            "localhost\u{a0}".as_bytes(),
        ] {
            for name in [header::HOST, header::ORIGIN] {
                assert_eq!(
                    check(name, bad),
                    Err(StatusCode::BAD_REQUEST),
                    "{}",
                    String::from_utf8_lossy(bad)
                );
            }
        }
        assert_eq!(
            check(header::HOST, b" 127.0.0.1:1\t"),
            Ok(Some("127.0.0.1:1".into()))
        );
        assert_eq!(check(header::ORIGIN, b""), Ok(Some(String::new())));
        assert_eq!(
            readable_header(&HeaderMap::new(), header::HOST, "Host").unwrap(),
            None
        );
    }

    #[test]
    fn preflights_allow_the_requested_headers() {
        let asked = HeaderValue::from_static("authorization, content-type, x-stainless-os");
        assert_eq!(
            allowed_headers(Some(&asked)),
            "authorization, content-type, x-stainless-os"
        );
        let odd = HeaderValue::from_static("authorization, bad header");
        assert_eq!(
            allowed_headers(Some(&odd)),
            "authorization, content-type, x-openclaw-model"
        );
        assert_eq!(
            allowed_headers(None),
            "authorization, content-type, x-openclaw-model"
        );
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
