//! Slow, silent and broken models and `/api/tags`.

use std::time::{Duration, Instant};

use openclaw_test_support::{Behaviour, ModelSpec, TestServer};
use serde_json::{json, Value};

use super::{client, get_json, post_json};

async fn show(server: &TestServer, model: &str) -> reqwest::Response {
    client()
        .post(format!("{}/api/show", server.url()))
        .json(&json!({ "model": model }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn delay_answers_late() {
    let delay = Duration::from_millis(300);
    let server = TestServer::builder()
        .model(ModelSpec::new("slow").behaviour(Behaviour::Delay(delay)))
        .model(ModelSpec::new("fast"))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(show(&server, "slow").await.status(), 200);
    assert!(started.elapsed() >= delay);
    // Other models are not held up by a slow one.
    let started = Instant::now();
    let (fast, slow) = tokio::join!(show(&server, "fast"), show(&server, "slow"));
    assert_eq!((fast.status().as_u16(), slow.status().as_u16()), (200, 200));
    assert!(started.elapsed() >= delay);
}

#[tokio::test]
async fn hang_never_answers_but_is_recorded() {
    let server = TestServer::builder()
        .model(ModelSpec::new("stuck").behaviour(Behaviour::Hang))
        .model(ModelSpec::new("ok"))
        .start()
        .await
        .unwrap();
    let err = client()
        .post(format!("{}/api/show", server.url()))
        .json(&json!({ "model": "stuck" }))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let recorded = server.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].path, "/api/show");
    assert_eq!(recorded[0].json(), Some(json!({ "model": "stuck" })));
    // The server still answers everything else.
    assert_eq!(show(&server, "ok").await.status(), 200);
}

#[tokio::test]
async fn status_answers_with_the_given_status_and_body() {
    let server = TestServer::builder()
        .model(
            ModelSpec::new("busy").behaviour(Behaviour::Status(
                503,
                r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#
                    .to_owned(),
            )),
        )
        .model(
            ModelSpec::new("teapot")
                .behaviour(Behaviour::Status(418, "short and stout".to_owned())),
        )
        .start()
        .await
        .unwrap();
    let response = show(&server, "busy").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().starts_with("server busy"));
    let response = show(&server, "teapot").await;
    assert_eq!(response.status(), 418);
    assert_eq!(response.text().await.unwrap(), "short and stout");
    // Unknown models are still 404: the behaviour belongs to a model that exists.
    assert_eq!(show(&server, "other").await.status(), 404);
}

#[tokio::test]
async fn garbage_is_200_json_that_does_not_parse() {
    let server = TestServer::builder()
        .model(ModelSpec::new("broken").behaviour(Behaviour::Garbage))
        .start()
        .await
        .unwrap();
    let response = show(&server, "broken").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("{\"license\""), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn tags_behaviour_applies_to_the_listing() {
    let failing = TestServer::builder()
        .model(ModelSpec::new("a"))
        .tags_behaviour(Behaviour::Status(500, r#"{"error":"boom"}"#.to_owned()))
        .start()
        .await
        .unwrap();
    let (status, body) = {
        let response = client()
            .get(format!("{}/api/tags", failing.url()))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    };
    assert_eq!(
        (status.as_u16(), body.as_str()),
        (500, r#"{"error":"boom"}"#)
    );
    // /api/show is unaffected.
    let (status, _) = post_json(
        &format!("{}/api/show", failing.url()),
        &json!({ "model": "a" }),
    )
    .await;
    assert_eq!(status, 200);

    let garbage = TestServer::builder()
        .model(ModelSpec::new("a"))
        .tags_behaviour(Behaviour::Garbage)
        .start()
        .await
        .unwrap();
    let text = client()
        .get(format!("{}/api/tags", garbage.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("{\"models\":["));
    assert!(serde_json::from_str::<Value>(&text).is_err());

    let hanging = TestServer::builder()
        .tags_behaviour(Behaviour::Hang)
        .start()
        .await
        .unwrap();
    let err = client()
        .get(format!("{}/api/tags", hanging.url()))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());

    let slow = TestServer::builder()
        .tags_behaviour(Behaviour::Delay(Duration::from_millis(150)))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    get_json(&format!("{}/api/tags", slow.url())).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
}
