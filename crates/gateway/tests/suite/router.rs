//! The router without a socket (`tower::ServiceExt::oneshot`): auth, the `Host`/`Origin`
//! guard, CORS, limits and error shapes.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use openclaw_gateway::app;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::support::{Fixture, TOKEN};

const HOST: &str = "127.0.0.1:18789";

fn get(path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method("GET")
        .uri(path)
        .header(header::HOST, HOST)
}

fn post_chat(body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

async fn send(f: &Fixture, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app(f.state()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

/// Every error body has OpenAI's shape.
fn assert_openai_error(body: &Value) {
    let e = &body["error"];
    assert!(e["message"].is_string(), "{body}");
    assert!(e["type"].is_string(), "{body}");
    assert!(
        e.get("param").is_some() && e.get("code").is_some(),
        "{body}"
    );
}

#[tokio::test]
async fn health_and_the_page_need_no_token() {
    let f = Fixture::simple().await;
    let (status, _, body) = send(&f, get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"ok": true}));
    let response = app(f.state())
        .oneshot(get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    let (status, _, body) = send(&f, get("/no/such/file.js").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_openai_error(&body);
}

#[tokio::test]
async fn the_api_needs_the_token() {
    let f = Fixture::simple().await;
    let (status, headers, body) = send(&f, get("/v1/models").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_openai_error(&body);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let wrong = get("/v1/models")
        .header(header::AUTHORIZATION, "Bearer nope")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f, wrong).await.0, StatusCode::UNAUTHORIZED);
    let right = get("/v1/models")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&f, right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "openclaw",
            "openclaw/main",
            "openclaw/default",
            "ollama/m:latest"
        ]
    );
    assert_eq!(body["object"], "list");
}

#[tokio::test]
async fn a_foreign_host_is_refused_dns_rebinding() {
    let f = Fixture::simple().await;
    for path in ["/", "/health", "/v1/models"] {
        let request = Request::builder()
            .uri(path)
            .header(header::HOST, "evil.example:18789")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = send(&f, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_openai_error(&body);
    }
    let localhost = Request::builder()
        .uri("/health")
        .header(header::HOST, "localhost:18789")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f, localhost).await.0, StatusCode::OK);
}

#[tokio::test]
async fn cross_origin_requests_are_refused_and_cors_is_closed_by_default() {
    let f = Fixture::simple().await;
    let evil = get("/health")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f, evil).await.0, StatusCode::FORBIDDEN);
    // Same origin: allowed, and no CORS headers (none are needed).
    let same = get("/health")
        .header(header::ORIGIN, format!("http://{HOST}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&f, same).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // A configured origin gets a preflight answer and CORS headers.
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/v1/chat/completions")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "https://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&f, preflight).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    assert!(headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .contains("authorization"));
    let listed = get("/health")
        .header(header::ORIGIN, "https://app.example")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(&f, listed).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let f = Fixture::simple().await;
    let big = format!(
        r#"{{"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    let (status, _, body) = send(&f, post_chat(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_openai_error(&body);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

/// Under the 2 MiB limit, but a million tiny values: ~40 MiB once parsed, so refused unparsed.
#[tokio::test]
async fn bodies_of_a_million_values_are_refused_unparsed() {
    let f = Fixture::simple().await;
    let body = format!(
        r#"{{"messages":[{{"role":"user","content":"hi"}}],"x":[{}0]}}"#,
        "0,".repeat(1_000_000)
    );
    let (status, _, body) = send(&f, post_chat(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_openai_error(&body);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("more than 262144 JSON values"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_requests_get_openai_errors_not_panics() {
    let f = Fixture::simple().await;
    for bad in [
        "not json",
        "[1,2]",
        r#"{"messages":[]}"#,
        r#"{"messages":[{"role":"assistant","content":"hi"}]}"#,
        r#"{"messages":[{"role":"user","content":{"x":1}}]}"#,
        r#"{"model":7,"messages":[{"role":"user","content":"hi"}]}"#,
        "\u{0}\u{1}\u{2}",
    ] {
        let (status, _, body) = send(&f, post_chat(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_openai_error(&body);
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    let wrong_method = get("/v1/chat/completions")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&f, wrong_method).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_openai_error(&body);
}

#[tokio::test]
async fn unknown_models_and_agents_are_404_model_not_found() {
    let f = Fixture::simple().await;
    for model in ["ollama/nope", "openclaw/other", "nosuchprovider/x"] {
        let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let (status, _, body) = send(&f, post_chat(body.to_string())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{model}: {body}");
        assert_eq!(body["error"]["code"], "model_not_found", "{model}");
    }
}

#[tokio::test]
async fn a_chat_completion_without_streaming() {
    let f = Fixture::simple().await;
    let body = json!({"model": "openclaw", "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, body) = send(&f, post_chat(body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from m:latest"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    // The header overrides the body's model.
    let request = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header("x-openclaw-model", "ollama/nope")
        .body(Body::from(
            json!({"model": "openclaw", "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
        ))
        .unwrap();
    assert_eq!(send(&f, request).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn repeated_auth_failures_from_one_address_are_slowed_down() {
    let f = Fixture::simple().await;
    let router = app(f.state());
    let peer: SocketAddr = "10.1.2.3:5555".parse().unwrap();
    let attempt = |token: &str| {
        let mut r = get("/v1/models")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        r.extensions_mut().insert(ConnectInfo(peer));
        r
    };
    for _ in 0..5 {
        let r = router.clone().oneshot(attempt("guess")).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right token is answered 429 until the wait is over.
    let r = router.clone().oneshot(attempt(TOKEN)).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get(header::RETRY_AFTER).is_some());
    // Another address is not affected.
    let mut other = attempt(TOKEN);
    other
        .extensions_mut()
        .insert(ConnectInfo("10.9.9.9:1".parse::<SocketAddr>().unwrap()));
    assert_eq!(
        router.oneshot(other).await.unwrap().status(),
        StatusCode::OK
    );
}
