//! Shared helpers for the suites: an HTTP client and JSON shape comparisons.

mod behaviours;
mod binary;
mod chat;
mod lifecycle;
mod model_api;

use std::collections::BTreeSet;

use openclaw_test_support::fixture;
use serde_json::Value;

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// The key set of a JSON object.
pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

pub fn fixture_json(rel: &str) -> Value {
    serde_json::from_str(&fixture(rel)).unwrap()
}

pub async fn get_json(url: &str) -> Value {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.unwrap()
}

/// POSTs `body` and returns the status and the body parsed as JSON.
pub async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let response = client().post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, json)
}
