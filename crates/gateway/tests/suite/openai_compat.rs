//! The OpenAI-compatible API in the details real clients depend on, with plain HTTP: what
//! reaches the model on each wire (Ollama native and `openai-completions`), textual tool calls
//! of small models, agent turns with generation parameters, upstream failures keeping their
//! status and message, `GET /v1/models/{id}`, CORS preflights and `/v1/responses`.

use std::net::SocketAddr;

use openclaw_gateway::{AppState, Limits};
use openclaw_test_support::{
    fixture, text_stream, tool_call_stream, Behaviour, ChatWire, ModelSpec, Reply, TestServer,
};
use serde_json::{json, Value};

use super::support::{http, sse_data, Fixture, TOKEN};

/// A gateway in front of `f`'s server with `config` merged over the fixture's; it lives as long
/// as the test's runtime.
async fn gateway_with_config(f: &Fixture, config: Value) -> SocketAddr {
    let listener = openclaw_gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut options = f.options(addr, Limits::default());
    // The fixture's own config (the first model as the default), with `config` over it.
    let first = f.server.model_names().first().cloned().unwrap_or_default();
    let mut merged =
        json!({"agents": {"defaults": {"model": {"primary": format!("ollama/{first}")}}}});
    merge(&mut merged, config);
    options.config = serde_json::from_value(merged).unwrap();
    let state = AppState::new(options);
    tokio::spawn(openclaw_gateway::serve(
        listener,
        state,
        std::future::pending::<()>(),
    ));
    addr
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

async fn post(addr: SocketAddr, path: &str, body: Value) -> (u16, Value) {
    let response = http()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

async fn post_stream(addr: SocketAddr, path: &str, body: Value) -> (u16, Vec<String>) {
    let response = http()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, sse_data(&response.text().await.unwrap()))
}

fn chunks(data: &[String]) -> Vec<Value> {
    data.iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// The chat bodies the server received for `model` (its listed name).
fn bodies(server: &TestServer, model: &str) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions" || r.path == "/api/chat")
        .filter_map(|r| r.json())
        .filter(|b| b["model"] == model)
        .collect()
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {"name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_ollama_wire_gets_options_format_images_and_the_clients_tools() {
    let native_call = fixture("ollama/api-chat-stream-toolcall.ndjson").replace("Tokyo", "Oslo");
    let f = Fixture::new(vec![
        ModelSpec::new("m").reply(Reply::Ndjson(native_call)),
        ModelSpec::new("eyes")
            .capabilities(&["completion", "tools", "vision"])
            .reply(Reply::Ndjson(ChatWire::Native.reply(&["a ", "pixel"]))),
    ])
    .await;
    let addr = gateway_with_config(
        &f,
        json!({"models": {"providers": {"ollama": {"api": "ollama"}}}}),
    )
    .await;

    let (status, body) = post(
        addr,
        "/v1/chat/completions",
        json!({"model": "openclaw/default", "messages": user("Weather in Oslo?"),
            "tools": [weather_tool()], "max_tokens": 5, "temperature": 0, "top_p": 0.5,
            "seed": 3, "stop": ["END"], "presence_penalty": 0.5, "frequency_penalty": 0.25,
            "response_format": {"type": "json_schema", "json_schema": {"name": "w",
                "schema": {"type": "object", "required": ["city"]}}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{body}");
    assert!(choice["message"]["content"].is_null(), "{body}");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city":"Oslo"}"#);
    assert!(call["id"].as_str().is_some_and(|id| !id.is_empty()));

    let sent = &bodies(&f.server, "m:latest")[0];
    assert_eq!(
        sent["options"],
        json!({"num_ctx": 32768, "num_predict": 5, "temperature": 0.0, "top_p": 0.5,
            "presence_penalty": 0.5, "frequency_penalty": 0.25, "seed": 3, "stop": ["END"]})
    );
    assert_eq!(
        sent["format"],
        json!({"type": "object", "required": ["city"]})
    );
    let names: Vec<&Value> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["function"]["name"])
        .collect();
    assert_eq!(names, [&json!("get_weather")], "only the client's tool");

    // The follow-up: Ollama natively names the tool of each result.
    let history = json!([
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "-3 C"},
    ]);
    let (status, body) = post(
        addr,
        "/v1/chat/completions",
        json!({"messages": history, "tools": [weather_tool()]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sent = &bodies(&f.server, "m:latest")[1];
    assert_eq!(
        sent["messages"][1]["tool_calls"][0]["function"],
        json!({"name": "get_weather", "arguments": {"city": "Oslo"}})
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "tool", "content": "-3 C", "tool_name": "get_weather"})
    );

    // An image goes natively as bare base64.
    let look = json!([{"role": "user", "content": [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]);
    let (status, body) = post(
        addr,
        "/v1/chat/completions",
        json!({"model": "ollama/eyes", "messages": look}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "a pixel");
    let sent = bodies(&f.server, "eyes:latest");
    let last = sent[0]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["images"], json!(["AAAA"]), "{last}");

    // Ollama natively cannot force a tool call: said, not ignored.
    let (status, body) = post(
        addr,
        "/v1/chat/completions",
        json!({"messages": user("x"), "tools": [weather_tool()], "tool_choice": "required"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "tool_choice");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ollama/m") && message.contains("native"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn textual_tool_calls_of_small_models_reach_the_client_as_tool_calls() {
    let textual =
        r#"<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>"#;
    let f = Fixture::new(vec![ModelSpec::new("small").reply(Reply::Sse(
        text_stream("small", &[&textual[..20], &textual[20..]]),
    ))])
    .await;
    let gw = f.gateway().await;
    let request = json!({"messages": user("Weather in Oslo?"), "tools": [weather_tool()]});
    let (status, body) = post(gw.addr, "/v1/chat/completions", request.clone()).await;
    assert_eq!(status, 200, "{body}");
    let message = &body["choices"][0]["message"];
    assert!(message["content"].is_null(), "{body}");
    assert_eq!(message["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");

    let mut streamed = request;
    streamed["stream"] = json!(true);
    let (status, data) = post_stream(gw.addr, "/v1/chat/completions", streamed).await;
    assert_eq!(status, 200);
    let chunks = chunks(&data);
    let deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(deltas[0]["index"], 0);
    assert_eq!(deltas[0]["function"]["name"], "get_weather");
    assert!(deltas[0]["id"].is_string());
    let arguments: String = deltas
        .iter()
        .filter_map(|d| d["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"city": "Oslo"})
    );
    assert!(
        chunks.iter().all(|c| c["choices"][0]["delta"]["content"]
            .as_str()
            .unwrap_or("")
            .is_empty()),
        "the call's text is not shown as content"
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("tool_calls")]);
    assert_eq!(data.last().unwrap(), "[DONE]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_per_reply_when_parallel_tool_calls_is_false() {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let call = |i: u32, city: &str| {
        json!({"index": i, "id": format!("call_{i}"), "type": "function",
            "function": {"name": "get_weather", "arguments": json!({"city": city}).to_string()}})
    };
    let two_calls = chunk(
        json!({"tool_calls": [call(0, "Oslo"), call(1, "Rome")]}),
        Value::Null,
    ) + &chunk(json!({}), json!("tool_calls"))
        + "data: [DONE]\n\n";
    let f = Fixture::new(vec![ModelSpec::new("m").reply(Reply::Sse(two_calls))]).await;
    let gw = f.gateway().await;
    let request = |parallel: bool| {
        json!({"messages": user("Weather in Oslo and Rome?"), "tools": [weather_tool()],
            "parallel_tool_calls": parallel})
    };
    let (_, both) = post(gw.addr, "/v1/chat/completions", request(true)).await;
    assert_eq!(
        both["choices"][0]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, one) = post(gw.addr, "/v1/chat/completions", request(false)).await;
    let calls = one["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap();
    assert_eq!(calls.len(), 1, "{one}");
    assert_eq!(calls[0]["function"]["arguments"], r#"{"city":"Oslo"}"#);
    assert_eq!(
        bodies(&f.server, "m:latest")[1]["parallel_tool_calls"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_turns_pass_parameters_to_the_model_and_report_length() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let (status, body) = post(
        gw.addr,
        "/v1/chat/completions",
        json!({"messages": user("Say hello."), "max_tokens": 2, "temperature": 0.3, "seed": 9}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["choices"][0]["message"]["content"], "Hello from");
    let sent = &bodies(&f.server, "m:latest")[0];
    assert_eq!(
        (&sent["max_tokens"], &sent["temperature"], &sent["seed"]),
        (&json!(2), &json!(0.3), &json!(9))
    );
    // Still the agent: its own tools are offered, the client brought none.
    let tools: Vec<&str> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        tools.contains(&"exec") && tools.contains(&"read"),
        "{tools:?}"
    );

    let (_, data) = post_stream(
        gw.addr,
        "/v1/chat/completions",
        json!({"messages": user("Say hello."), "max_completion_tokens": 1, "stream": true}),
    )
    .await;
    let finish: Vec<Value> = chunks(&data)
        .iter()
        .map(|c| c["choices"][0]["finish_reason"].clone())
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [json!("length")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_keep_their_status_and_message() {
    let f = Fixture::new(vec![
        ModelSpec::new("m"),
        ModelSpec::new("busy").chat_behaviour(Behaviour::Status(
            429,
            r#"{"error":"slow down, please"}"#.into(),
        )),
        ModelSpec::new("broken").chat_behaviour(Behaviour::Status(
            500,
            r#"{"error":"the GPU fell over"}"#.into(),
        )),
        ModelSpec::new("picky").chat_behaviour(Behaviour::Status(
            400,
            r#"{"error":"that schema is not supported"}"#.into(),
        )),
    ])
    .await;
    let gw = f.gateway().await;
    for (model, tools, status, kind, says) in [
        (
            "ollama/busy",
            true,
            429,
            "rate_limit_error",
            "slow down, please",
        ),
        (
            "ollama/busy",
            false,
            429,
            "rate_limit_error",
            "slow down, please",
        ),
        (
            "ollama/broken",
            true,
            502,
            "server_error",
            "the GPU fell over",
        ),
        (
            "ollama/picky",
            true,
            400,
            "invalid_request_error",
            "that schema is not supported",
        ),
        (
            "ollama/gone",
            true,
            404,
            "invalid_request_error",
            "not in the catalog",
        ),
    ] {
        let mut request = json!({"model": model, "messages": user("hi")});
        if tools {
            request["tools"] = json!([weather_tool()]);
        }
        for stream in [false, true] {
            request["stream"] = json!(stream);
            let (got, body) = post(gw.addr, "/v1/chat/completions", request.clone()).await;
            assert_eq!(got, status, "{model} tools={tools} stream={stream}: {body}");
            assert_eq!(body["error"]["type"], kind, "{body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{model}: {message}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_by_id_refused_fields_and_cors_preflights() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let get = |path: &str| {
        http()
            .get(format!("http://{}{path}", gw.addr))
            .bearer_auth(TOKEN)
            .send()
    };
    let list: Value = get("/v1/models").await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"openclaw/default") && ids.contains(&"ollama/m:latest"),
        "{ids:?}"
    );
    for (path, id) in [
        ("/v1/models/openclaw/default", "openclaw/default"),
        ("/v1/models/openclaw", "openclaw"),
        ("/v1/models/ollama/m:latest", "ollama/m:latest"),
        ("/v1/models/ollama/m", "ollama/m:latest"),
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let model: Value = response.json().await.unwrap();
        assert_eq!(
            (model["id"].as_str(), model["object"].as_str()),
            (Some(id), Some("model"))
        );
    }
    let missing = get("/v1/models/ollama/nope").await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "model_not_found");

    // `openclaw/default` runs the configured default model.
    let (status, body) = post(
        gw.addr,
        "/v1/chat/completions",
        json!({"model": "openclaw/default", "messages": user("hi")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from m:latest"
    );

    for (field, value, code) in [
        ("n", json!(3), "unsupported_parameter"),
        ("logprobs", json!(true), "unsupported_parameter"),
        ("temperature", json!(9), "invalid_value"),
        ("keep_alive", json!("5m"), "unsupported_parameter"),
    ] {
        let mut request = json!({"messages": user("hi")});
        request[field] = value;
        let (status, body) = post(gw.addr, "/v1/chat/completions", request).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["error"]["param"], field, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    // A configured origin's preflight gets the headers it asks for (SDKs add their own).
    let preflight = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/chat/completions", gw.addr),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-stainless-os, x-stainless-retry-count",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "authorization, content-type, x-stainless-os, x-stainless-retry-count"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_plain_streamed_and_with_function_tools() {
    let f = Fixture::new(vec![
        ModelSpec::new("m"),
        ModelSpec::new("tooly").reply(Reply::Sse(tool_call_stream(
            "get_weather",
            r#"{"city":"Paris"}"#,
        ))),
    ])
    .await;
    let gw = f.gateway().await;
    let (status, body) = post(
        gw.addr,
        "/v1/responses",
        json!({"input": "Say hello.", "instructions": "Be brief.", "max_output_tokens": 50}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["output"][0]["type"], "message");
    assert_eq!(
        body["output"][0]["content"][0]["text"],
        "Hello from m:latest"
    );
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(bodies(&f.server, "m:latest")[0]["max_tokens"], 50);

    let (status, body) = post(
        gw.addr,
        "/v1/responses",
        json!({"input": "Say hello.", "max_output_tokens": 1}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "incomplete");
    assert_eq!(body["incomplete_details"]["reason"], "max_output_tokens");

    let tools = json!([{"type": "function", "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let (status, body) = post(
        gw.addr,
        "/v1/responses",
        json!({"model": "ollama/tooly", "input": "Weather?", "tools": tools}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let call = &body["output"][0];
    assert_eq!(call["type"], "function_call", "{body}");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["arguments"], r#"{"city":"Paris"}"#);

    let (status, data) = post_stream(
        gw.addr,
        "/v1/responses",
        json!({"model": "ollama/tooly", "input": "Weather?", "tools": tools, "stream": true}),
    )
    .await;
    assert_eq!(status, 200);
    let events: Vec<Value> = data
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let sequence: Vec<u64> = events
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(sequence, (0..events.len() as u64).collect::<Vec<_>>());
    let done = &events.last().unwrap()["response"];
    assert_eq!(done["output"][0]["arguments"], r#"{"city":"Paris"}"#);
}
