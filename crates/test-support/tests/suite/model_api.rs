//! `/api/tags`, `/api/show`, `/api/ps`, `/api/version` and `/` against the fixture shapes.

use openclaw_test_support::{ModelSpec, TestServer};
use serde_json::{json, Value};

use super::{client, fixture_json, get_json, keys, post_json};

fn two_models() -> TestServer {
    TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .model(
            ModelSpec::new("qwen2.5-coder:32b")
                .architecture("qwen2")
                .capabilities(&["completion", "tools", "insert"])
                .parameter_size("32.8B")
                .quantization("Q4_K_M")
                .size(19_851_349_856),
        )
        .start_blocking()
        .unwrap()
}

#[tokio::test]
async fn tags_items_have_the_fixture_keys() {
    let server = two_models();
    let response = client()
        .get(format!("{}/api/tags", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let tags: Value = response.json().await.unwrap();
    let doc_item = &fixture_json("ollama/tags.json")["models"][0];
    let shim_item = &fixture_json("llamacpp-shim/api-tags.json")["models"][0];
    let mut doc_keys = keys(doc_item);
    doc_keys.insert("capabilities".to_owned());
    assert_eq!(doc_keys, keys(shim_item), "fixtures agree");

    let items = tags["models"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for item in items {
        assert_eq!(keys(item), doc_keys);
        assert_eq!(keys(&item["details"]), keys(&doc_item["details"]));
        let digest = item["digest"].as_str().unwrap();
        assert!(digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(item["name"], item["model"]);
    }
    assert_eq!(items[0]["name"], "llama3.3:latest");
    assert_eq!(items[0]["capabilities"], json!(["completion", "tools"]));
    assert_eq!(items[0]["details"]["family"], "llama");
    assert_eq!(items[1]["name"], "qwen2.5-coder:32b");
    assert_eq!(items[1]["size"], 19_851_349_856_u64);
    assert_eq!(items[1]["details"]["families"], json!(["qwen2"]));
    assert_eq!(items[1]["details"]["parameter_size"], "32.8B");
    // Same name, same digest, across servers.
    let other = two_models();
    let again = get_json(&format!("{}/api/tags", other.url())).await;
    assert_eq!(again["models"][0]["digest"], items[0]["digest"]);
}

#[tokio::test]
async fn show_has_the_fixture_keys() {
    let server = TestServer::builder()
        .model(
            ModelSpec::new("qwen3:8b")
                .architecture("qwen3")
                .context_length(40960)
                .capabilities(&["completion", "tools", "thinking"]),
        )
        .start()
        .await
        .unwrap();
    let url = format!("{}/api/show", server.url());
    let (status, show) = post_json(&url, &json!({ "model": "qwen3:8b" })).await;
    assert_eq!(status, 200);
    let fixture = fixture_json("ollama/show-qwen3-thinking.json");
    assert_eq!(keys(&show), keys(&fixture));
    assert_eq!(keys(&show["details"]), keys(&fixture["details"]));
    let info = &show["model_info"];
    assert_eq!(info["general.architecture"], "qwen3");
    assert_eq!(info["qwen3.context_length"], 40960);
    assert_eq!(
        show["capabilities"],
        json!(["completion", "tools", "thinking"])
    );
    // Every key we send is one the fixture has, under the same architecture.
    let fixture_info = keys(&fixture["model_info"]);
    for key in keys(info) {
        assert!(
            fixture_info.contains(&key),
            "unexpected model_info key {key}"
        );
    }
    // The legacy `name` field works too.
    let (status, by_name) = post_json(&url, &json!({ "name": "qwen3:8b" })).await;
    assert_eq!(status, 200);
    assert_eq!(by_name["model_info"], show["model_info"]);
}

#[tokio::test]
async fn show_finds_untagged_names_and_reports_context_settings() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .model(ModelSpec::new("bare").without_model_info())
        .model(
            ModelSpec::new("noctx")
                .architecture("gemma3")
                .without_context_length(),
        )
        .model(ModelSpec::new("short").context_length(8192))
        .start()
        .await
        .unwrap();
    let url = format!("{}/api/show", server.url());
    for requested in ["llama3.3", "llama3.3:latest"] {
        let (status, show) = post_json(&url, &json!({ "model": requested })).await;
        assert_eq!(status, 200, "{requested}");
        assert_eq!(show["model_info"]["llama.context_length"], 131_072);
    }
    let (_, bare) = post_json(&url, &json!({ "model": "bare" })).await;
    assert_eq!(bare["model_info"], json!({}));
    let (_, noctx) = post_json(&url, &json!({ "model": "noctx" })).await;
    assert_eq!(noctx["model_info"]["general.architecture"], "gemma3");
    assert!(noctx["model_info"].get("gemma3.context_length").is_none());
    let (_, short) = post_json(&url, &json!({ "model": "short:latest" })).await;
    assert_eq!(short["model_info"]["llama.context_length"], 8192);
}

#[tokio::test]
async fn show_errors_like_ollama() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start()
        .await
        .unwrap();
    let url = format!("{}/api/show", server.url());
    let (status, body) = post_json(&url, &json!({ "model": "nope" })).await;
    assert_eq!(
        (status, body),
        (404, json!({ "error": "model 'nope' not found" }))
    );
    let (status, body) = post_json(&url, &json!({})).await;
    assert_eq!(
        (status, body),
        (400, json!({ "error": "model is required" }))
    );
    let (status, body) = post_json(&url, &json!({ "model": 3 })).await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());

    for raw in ["", "{not json", "[1,2]"] {
        let response = client().post(&url).body(raw).send().await.unwrap();
        assert_eq!(response.status(), 400, "{raw:?}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{raw:?}: {body}");
    }
    let response = client().post(&url).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "error": "missing request body" }));
}

#[tokio::test]
async fn ps_lists_models_as_loaded() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .ps_context_length(8192)
        .start()
        .await
        .unwrap();
    let ps = get_json(&format!("{}/api/ps", server.url())).await;
    let fixture = fixture_json("ollama/ps-openapi-gemma4.json");
    let item = &ps["models"][0];
    assert_eq!(keys(item), keys(&fixture["models"][0]));
    assert_eq!(
        keys(&item["details"]),
        keys(&fixture["models"][0]["details"])
    );
    assert_eq!(item["name"], "llama3.3:latest");
    assert_eq!(item["context_length"], 8192);

    let default = TestServer::builder()
        .model(ModelSpec::new("x"))
        .start()
        .await
        .unwrap();
    let ps = get_json(&format!("{}/api/ps", default.url())).await;
    assert_eq!(ps["models"][0]["context_length"], 4096);
}

#[tokio::test]
async fn version_root_and_unknown_paths() {
    let server = TestServer::builder().start().await.unwrap();
    let version = get_json(&format!("{}/api/version", server.url())).await;
    assert_eq!(version, json!({ "version": "0.12.0" }));

    let root = client().get(server.url()).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert_eq!(root.text().await.unwrap(), "Ollama is running");
    let head = client().head(server.url()).send().await.unwrap();
    assert_eq!(head.status(), 200);

    let missing = client()
        .get(format!("{}/api/nope", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.unwrap(), "404 page not found");
    let wrong_method = client()
        .get(format!("{}/api/show", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 404);

    let empty = get_json(&format!("{}/api/tags", server.url())).await;
    assert_eq!(empty, json!({ "models": [] }));
}
