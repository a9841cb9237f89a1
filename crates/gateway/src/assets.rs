//! The web chat page, served from files embedded in the binary at build time (see `build.rs`):
//! `GET /` is `index.html`, every other file by its path under `assets/`.
//!
//! The page and its assets need no token (the page asks for it, or reads it from the URL
//! fragment, which never reaches the server); everything else does.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The embedded file at `path` (`""` and `/` mean `index.html`).
pub fn find(path: &str) -> Option<&'static [u8]> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

/// The content type for a file name.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Fallback route: an embedded file for `GET`/`HEAD`, else a JSON 404.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if method == Method::GET || method == Method::HEAD {
        if let Some(bytes) = find(path) {
            let name = if path.trim_start_matches('/').is_empty() {
                "index.html"
            } else {
                path
            };
            let mut response = (StatusCode::OK, bytes).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(name)),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            // The page must not be framed by another site (clickjacking).
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            return response;
        }
    }
    not_found(path)
}

/// The JSON 404 of unknown paths.
pub fn not_found(path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": {
            "message": format!("no such path: {path}"),
            "type": "not_found_error",
            "param": null,
            "code": null,
        }})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_embedded() {
        assert!(find("/").is_some());
        assert_eq!(find("/"), find("/index.html"));
        assert!(find("/../Cargo.toml").is_none());
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
    }
}
