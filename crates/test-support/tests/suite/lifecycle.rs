//! Starting, recording, changing models while running, scale, and shutting down.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use openclaw_test_support::{mixed_models, Behaviour, ModelSpec, TestServer};
use serde_json::{json, Value};

use super::{client, get_json, post_json};

fn tag_names(tags: &Value) -> Vec<String> {
    tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn url_has_no_trailing_slash_and_matches_addr() {
    let server = TestServer::builder().start().await.unwrap();
    assert_eq!(server.url(), format!("http://{}", server.addr()));
    assert!(server.url().starts_with("http://127.0.0.1:"));
    assert!(!server.url().ends_with('/'));
}

#[tokio::test]
async fn records_every_request_in_order() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start()
        .await
        .unwrap();
    assert_eq!(server.request_count(), 0);
    client()
        .get(format!("{}/api/tags", server.url()))
        .header("x-test", "one")
        .send()
        .await
        .unwrap();
    post_json(
        &format!("{}/api/show", server.url()),
        &json!({ "model": "llama3.3" }),
    )
    .await;
    client()
        .get(format!("{}/nowhere?x=1", server.url()))
        .send()
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(server.request_count(), 3);
    let summary: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("GET", "/api/tags"),
            ("POST", "/api/show"),
            ("GET", "/nowhere")
        ]
    );
    assert_eq!(requests[0].header("X-Test"), Some("one"));
    assert_eq!(requests[0].body, "");
    assert_eq!(requests[1].json(), Some(json!({ "model": "llama3.3" })));
    assert_eq!(requests[1].header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn models_can_be_added_and_removed_while_running() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start()
        .await
        .unwrap();
    let tags_url = format!("{}/api/tags", server.url());
    let show_url = format!("{}/api/show", server.url());
    assert_eq!(tag_names(&get_json(&tags_url).await), ["llama3.3:latest"]);

    server.add_model(ModelSpec::new("qwen3:8b").capabilities(&["completion", "thinking"]));
    assert_eq!(
        tag_names(&get_json(&tags_url).await),
        ["llama3.3:latest", "qwen3:8b"]
    );
    let (status, _) = post_json(&show_url, &json!({ "model": "qwen3:8b" })).await;
    assert_eq!(status, 200);

    // Adding an existing name replaces it in place (a re-pull).
    server.add_model(ModelSpec::new("llama3.3:latest").context_length(8192));
    assert_eq!(server.model_names(), ["llama3.3:latest", "qwen3:8b"]);
    let (_, show) = post_json(&show_url, &json!({ "model": "llama3.3" })).await;
    assert_eq!(show["model_info"]["llama.context_length"], 8192);

    server.remove_model("llama3.3");
    assert_eq!(tag_names(&get_json(&tags_url).await), ["qwen3:8b"]);
    let (status, _) = post_json(&show_url, &json!({ "model": "llama3.3" })).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn serves_250_mixed_models_quickly() {
    let specs = mixed_models(250);
    let server = TestServer::builder()
        .models(specs.clone())
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    let tags = get_json(&format!("{}/api/tags", server.url())).await;
    let names = tag_names(&tags);
    assert_eq!(names.len(), 250);
    let expected: Vec<String> = specs.iter().map(ModelSpec::listed_name).collect();
    assert_eq!(names, expected);

    let http = client();
    let show_url = format!("{}/api/show", server.url());
    let shows = futures_util::future::join_all(names.iter().map(|name| {
        let request = http.post(&show_url).json(&json!({ "model": name }));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    }))
    .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(server.request_count(), 251);
    for (spec, show) in specs.iter().zip(&shows) {
        let caps: Vec<String> = serde_json::from_value(show["capabilities"].clone()).unwrap();
        assert_eq!(caps, spec.capability_list(), "{}", spec.name());
        let arch = show["model_info"]["general.architecture"].as_str();
        let context =
            arch.and_then(|arch| show["model_info"][format!("{arch}.context_length")].as_u64());
        assert_eq!(context, spec.advertised_context_length(), "{}", spec.name());
    }
}

/// Dropping the server must not wait for hanging requests, and must end them.
#[tokio::test]
async fn drop_ends_hanging_requests_without_blocking() {
    let server = TestServer::builder()
        .model(ModelSpec::new("stuck").behaviour(Behaviour::Hang))
        .start()
        .await
        .unwrap();
    let url = format!("{}/api/show", server.url());
    let pending = tokio::spawn(async move {
        client()
            .post(url)
            .json(&json!({ "model": "stuck" }))
            .send()
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.request_count() == 0 {
        assert!(Instant::now() < deadline, "request never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    drop(server);
    assert!(started.elapsed() < Duration::from_secs(1));
    let outcome = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the hanging request ended after drop")
        .unwrap();
    assert!(
        outcome.is_err(),
        "expected a connection error, got {outcome:?}"
    );
}

/// `start_blocking` serves a plain synchronous client (what a CLI under test would be).
#[test]
fn start_blocking_serves_sync_clients() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /api/tags HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("\"name\":\"llama3.3:latest\""));
    drop(server);
}
