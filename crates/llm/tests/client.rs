//! `ModelClient` against the Ollama-compatible test server: what it sends on each wire, how it
//! reads real streams, and how every failure is classified.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use openclaw_config::ApiKind;
use openclaw_llm::{
    ChatMessage, ChatRequest, ChatResponse, Endpoint, LlmError, ModelClient, RequestOptions,
    StreamEvent, StreamLimits, ThinkingLevel, ToolCall, ToolSpec,
};
use openclaw_test_support::{fixture, Behaviour, ModelSpec, Reply, TestServer};
use serde_json::{json, Value};

const IDLE: Duration = Duration::from_secs(5);

async fn serve(spec: ModelSpec) -> TestServer {
    TestServer::builder().model(spec).start().await.unwrap()
}

fn endpoint(api: ApiKind, base_url: String, idle_timeout: Duration) -> Endpoint {
    Endpoint {
        api,
        base_url,
        api_key: None,
        headers: BTreeMap::new(),
        idle_timeout,
    }
}

fn openai(server: &TestServer, idle: Duration) -> ModelClient {
    ModelClient::new(endpoint(
        ApiKind::OpenAiCompletions,
        format!("{}/v1", server.url()),
        idle,
    ))
}

fn native(server: &TestServer, idle: Duration) -> ModelClient {
    ModelClient::new(endpoint(ApiKind::Ollama, server.url(), idle))
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "Get the current weather for a city".into(),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    }
}

fn ask(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![ChatMessage::user("What is the weather in Paris?")],
        ..ChatRequest::default()
    }
}

async fn chat(
    client: &ModelClient,
    request: &ChatRequest,
) -> (Result<ChatResponse, LlmError>, Vec<StreamEvent>) {
    let mut events = Vec::new();
    let mut on_event = |e: StreamEvent| events.push(e);
    let result = client.stream_chat(request, &mut on_event).await;
    (result, events)
}

/// The JSON body of the last request the server received.
fn last_body(server: &TestServer) -> Value {
    server.requests().last().unwrap().json().unwrap()
}

// ---- replies through the network -------------------------------------------------------

#[tokio::test]
async fn streamed_tool_call_in_pieces_over_http() {
    let server = serve(
        ModelSpec::new("smollm2:135m")
            .reply(Reply::Sse(fixture("llamacpp-shim/stream-toolcall.sse"))),
    )
    .await;
    let request = ChatRequest {
        tools: vec![weather_tool()],
        ..ask("smollm2:135m")
    };
    let (result, events) = chat(&openai(&server, IDLE), &request).await;
    let reply = result.unwrap();
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(reply.tool_calls[0].id, "kf0N4w76u3u9MxLHTEUOrfKFEXBuv35M");
    assert_eq!(reply.tool_calls[0].arguments, json!({"city": "Paris"}));
    assert_eq!(
        events,
        vec![StreamEvent::ToolCall(reply.tool_calls[0].clone())]
    );
    assert_eq!(
        server.requests().last().unwrap().path,
        "/v1/chat/completions"
    );
}

#[tokio::test]
async fn native_ndjson_over_http() {
    let server = serve(ModelSpec::new("llama3.2").reply(Reply::Ndjson(fixture(
        "ollama/api-chat-stream-toolcall.ndjson",
    ))))
    .await;
    let request = ChatRequest {
        tools: vec![weather_tool()],
        ..ask("llama3.2")
    };
    let reply = chat(&native(&server, IDLE), &request).await.0.unwrap();
    assert_eq!(reply.tool_calls[0].name, "get_weather");
    assert_eq!(reply.tool_calls[0].arguments, json!({"city": "Tokyo"}));
    assert_eq!(reply.usage.unwrap().prompt_tokens, 169);
    assert_eq!(server.requests().last().unwrap().path, "/api/chat");
}

#[tokio::test]
async fn a_server_that_ignores_stream_is_read_as_one_completion() {
    let server = serve(
        ModelSpec::new("llama3.2")
            .reply(Reply::Json(fixture("ollama/chat-completion-toolcall.json"))),
    )
    .await;
    let reply = chat(&openai(&server, IDLE), &ask("llama3.2"))
        .await
        .0
        .unwrap();
    assert_eq!(reply.tool_calls[0].id, "call_k3v9x2ab");
    assert_eq!(reply.tool_calls[0].arguments, json!({"city": "Tokyo"}));
}

#[tokio::test]
async fn default_replies_on_both_wires() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .model(ModelSpec::new("qwen3").capabilities(&["completion", "tools", "thinking"]))
        .start()
        .await
        .unwrap();
    for client in [openai(&server, IDLE), native(&server, IDLE)] {
        let (result, events) = chat(&client, &ask("llama3.3")).await;
        let reply = result.unwrap();
        assert_eq!(reply.text, "Hello from llama3.3");
        assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
        assert!(reply.usage.is_some());
        assert!(events.iter().all(|e| matches!(e, StreamEvent::Text(_))));

        // A thinking model thinks unless told not to; thinking stays apart from the text.
        let reply = chat(&client, &ask("qwen3")).await.0.unwrap();
        assert_eq!(reply.thinking, "The user wants a greeting.");
        assert_eq!(reply.text, "Hello from qwen3");
        let off = ChatRequest {
            thinking: Some(ThinkingLevel::Off),
            ..ask("qwen3")
        };
        let reply = chat(&client, &off).await.0.unwrap();
        assert_eq!(reply.thinking, "");
    }
}

#[tokio::test]
async fn a_token_limit_reaches_both_wires_and_the_reply_says_length() {
    let server = serve(ModelSpec::new("llama3.3")).await;
    let options = RequestOptions {
        max_tokens: Some(1),
        seed: Some(5),
        ..RequestOptions::default()
    };
    for client in [openai(&server, IDLE), native(&server, IDLE)] {
        let mut on_event = |_: StreamEvent| {};
        let reply = client
            .stream_chat_with(&ask("llama3.3"), &options, &mut on_event)
            .await
            .unwrap();
        assert_eq!(reply.text, "Hello");
        assert_eq!(reply.finish_reason.as_deref(), Some("length"));
        let body = last_body(&server);
        match client.endpoint().api {
            ApiKind::Ollama => {
                assert_eq!(body["options"]["num_predict"], 1);
                assert_eq!(body["options"]["seed"], 5);
            }
            _ => {
                assert_eq!(body["max_tokens"], 1);
                assert_eq!(body["seed"], 5);
            }
        }
    }
}

// ---- what is sent ------------------------------------------------------------------------

#[tokio::test]
async fn thinking_none_sends_no_thinking_key_and_no_tools_key() {
    let server = serve(ModelSpec::new("llama3.3")).await;
    chat(&openai(&server, IDLE), &ask("llama3.3"))
        .await
        .0
        .unwrap();
    let body = last_body(&server);
    assert!(body.get("reasoning_effort").is_none(), "{body}");
    assert!(body.get("tools").is_none(), "{body}");
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));

    chat(&native(&server, IDLE), &ask("llama3.3"))
        .await
        .0
        .unwrap();
    let body = last_body(&server);
    assert!(body.get("think").is_none(), "{body}");
    assert!(body.get("tools").is_none(), "{body}");
    assert!(body.get("options").is_none(), "{body}");
}

#[tokio::test]
async fn thinking_levels_on_each_wire() {
    let server = serve(ModelSpec::new("qwen3").capabilities(&["completion", "thinking"])).await;
    for (level, effort, think) in [
        (ThinkingLevel::Off, "none", json!(false)),
        (ThinkingLevel::Low, "low", json!("low")),
        (ThinkingLevel::Medium, "medium", json!("medium")),
        (ThinkingLevel::High, "high", json!("high")),
    ] {
        let request = ChatRequest {
            thinking: Some(level),
            ..ask("qwen3")
        };
        chat(&openai(&server, IDLE), &request).await.0.unwrap();
        assert_eq!(last_body(&server)["reasoning_effort"], json!(effort));
        chat(&native(&server, IDLE), &request).await.0.unwrap();
        assert_eq!(last_body(&server)["think"], think);
    }
}

#[tokio::test]
async fn num_ctx_goes_only_to_the_native_wire() {
    let server = serve(ModelSpec::new("llama3.3")).await;
    let request = ChatRequest {
        num_ctx: Some(32768),
        max_tokens: Some(256),
        temperature: Some(0.2),
        tools: vec![weather_tool()],
        ..ask("llama3.3")
    };
    chat(&native(&server, IDLE), &request).await.0.unwrap();
    let body = last_body(&server);
    assert_eq!(
        body["options"],
        json!({"num_ctx": 32768, "num_predict": 256, "temperature": 0.2})
    );
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");

    chat(&openai(&server, IDLE), &request).await.0.unwrap();
    let body = last_body(&server);
    assert!(
        body.get("options").is_none() && body.get("num_ctx").is_none(),
        "{body}"
    );
    assert_eq!(body["max_tokens"], json!(256));
    assert_eq!(body["temperature"], json!(0.2));
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
}

#[tokio::test]
async fn tool_results_go_back_in_each_wires_shape() {
    let server = serve(ModelSpec::new("llama3.3")).await;
    let call = ToolCall {
        id: "call_k3v9x2ab".into(),
        name: "get_weather".into(),
        arguments: json!({"city": "Tokyo"}),
        raw_arguments: r#"{"city":"Tokyo"}"#.into(),
        arguments_error: None,
    };
    let mut request = ask("llama3.3");
    request.tools = vec![weather_tool()];
    request
        .messages
        .push(ChatMessage::assistant("", vec![call.clone()]));
    request
        .messages
        .push(ChatMessage::tool_result(&call, "Sunny, 21 °C"));

    chat(&openai(&server, IDLE), &request).await.0.unwrap();
    let messages = last_body(&server)["messages"].clone();
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": "", "tool_calls": [{
            "id": "call_k3v9x2ab", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Tokyo\"}"}
        }]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "tool", "tool_call_id": "call_k3v9x2ab", "content": "Sunny, 21 °C"})
    );

    chat(&native(&server, IDLE), &request).await.0.unwrap();
    let messages = last_body(&server)["messages"].clone();
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": "", "tool_calls": [{
            "function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}
        }]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "tool", "content": "Sunny, 21 °C", "tool_name": "get_weather"})
    );
}

#[tokio::test]
async fn thinking_is_never_sent_back() {
    // The `/v1` wire, with Ollama's reasoning stream.
    let server = serve(
        ModelSpec::new("qwen3")
            .capabilities(&["completion", "thinking"])
            .reply(Reply::Sse(fixture("ollama/chat-stream-thinking.sse"))),
    )
    .await;
    let client = openai(&server, IDLE);
    let mut request = ask("qwen3");
    let reply = chat(&client, &request).await.0.unwrap();
    assert_eq!(reply.thinking, "Okay, the user asks 17×23.");
    request.messages.push(ChatMessage::assistant(
        reply.text.clone(),
        reply.tool_calls.clone(),
    ));
    request.messages.push(ChatMessage::user("And 18 × 23?"));
    chat(&client, &request).await.0.unwrap();
    let sent = server.requests().last().unwrap().body.clone();
    assert!(!sent.contains("user asks"), "{sent}");
    assert!(!sent.contains("reasoning\""), "{sent}");
    assert!(sent.contains("17 × 23 = 391."), "{sent}");

    // The native wire, with a native thinking reply.
    let server = serve(ModelSpec::new("qwen3").capabilities(&["completion", "thinking"])).await;
    let client = native(&server, IDLE);
    let mut request = ask("qwen3");
    let reply = chat(&client, &request).await.0.unwrap();
    assert_eq!(reply.thinking, "The user wants a greeting.");
    request
        .messages
        .push(ChatMessage::assistant(reply.text.clone(), Vec::new()));
    chat(&client, &request).await.0.unwrap();
    let sent = server.requests().last().unwrap().body.clone();
    assert!(!sent.contains("greeting"), "{sent}");
    assert!(!sent.contains("thinking"), "{sent}");
}

#[tokio::test]
async fn the_key_and_configured_headers_are_sent() {
    let server = serve(ModelSpec::new("llama3.3")).await;
    let mut endpoint = endpoint(
        ApiKind::OpenAiCompletions,
        format!("{}/v1/", server.url()),
        IDLE,
    );
    endpoint.api_key = Some("ollama-local".into());
    endpoint
        .headers
        .insert("X-Client".into(), "openclaw".into());
    chat(&ModelClient::new(endpoint), &ask("llama3.3"))
        .await
        .0
        .unwrap();
    let recorded = server.requests().last().unwrap().clone();
    assert_eq!(
        recorded.header("authorization"),
        Some("Bearer ollama-local")
    );
    assert_eq!(recorded.header("x-client"), Some("openclaw"));
    assert_eq!(recorded.header("content-type"), Some("application/json"));
}

// ---- failures ----------------------------------------------------------------------------

#[tokio::test]
async fn a_truncated_stream_is_malformed() {
    let first_event = fixture("llamacpp-shim/stream-text.sse")
        .split_inclusive("\n\n")
        .take(3)
        .collect::<String>();
    let server = serve(ModelSpec::new("m").reply(Reply::Sse(first_event))).await;
    let (result, events) = chat(&openai(&server, IDLE), &ask("m")).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), "malformed-stream", "{error}");
    // What arrived before the cut was still shown.
    let shown: String = events
        .iter()
        .map(|e| match e {
            StreamEvent::Text(t) => t.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(shown, "The capital");

    let server = serve(ModelSpec::new("m").reply(Reply::Ndjson(
        "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n".into(),
    )))
    .await;
    let error = chat(&native(&server, IDLE), &ask("m")).await.0.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("stream ended before the final record"),
        "{error}"
    );
}

#[tokio::test]
async fn garbage_is_malformed_on_both_wires() {
    let server = serve(ModelSpec::new("m").chat_behaviour(Behaviour::Garbage)).await;
    for client in [openai(&server, IDLE), native(&server, IDLE)] {
        let error = chat(&client, &ask("m")).await.0.unwrap_err();
        assert_eq!(error.kind(), "malformed-stream", "{error}");
        assert!(error.to_string().contains("not valid JSON"), "{error}");
    }
    let server =
        serve(ModelSpec::new("m").reply(Reply::Sse("data: <html>oops</html>\n\n".into()))).await;
    let error = chat(&openai(&server, IDLE), &ask("m")).await.0.unwrap_err();
    assert!(error.to_string().contains("<html>oops</html>"), "{error}");
}

#[tokio::test]
async fn oversized_replies_are_refused() {
    // The default line cap (16 MiB).
    let huge = format!("data: \"{}\"\n\n", "x".repeat(16 * 1024 * 1024 + 1));
    let server = serve(ModelSpec::new("m").reply(Reply::Sse(huge))).await;
    let error = chat(&openai(&server, IDLE), &ask("m")).await.0.unwrap_err();
    assert!(
        matches!(error, LlmError::TooLarge { limit, .. } if limit == 16 * 1024 * 1024),
        "{error:?}"
    );

    // The total cap, with many small events.
    let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n";
    let server = serve(ModelSpec::new("m").reply(Reply::Sse(event.repeat(1000)))).await;
    let limits = StreamLimits {
        max_line_bytes: 1024,
        max_reply_bytes: 10_000,
    };
    let client = openai(&server, IDLE).with_limits(limits);
    let error = chat(&client, &ask("m")).await.0.unwrap_err();
    assert!(
        matches!(error, LlmError::TooLarge { limit: 10_000, .. }),
        "{error:?}"
    );
    let lines = "{\"message\":{\"content\":\"x\"},\"done\":false}\n".repeat(1000);
    let server = serve(ModelSpec::new("m").reply(Reply::Ndjson(lines))).await;
    let error = chat(&native(&server, IDLE).with_limits(limits), &ask("m"))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(error, LlmError::TooLarge { limit: 10_000, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn http_statuses_are_classified() {
    let cases = [
        (
            500,
            r#"{"error":"llama runner process has terminated"}"#,
            "server",
        ),
        (502, "bad gateway", "server"),
        (401, r#"{"error":{"message":"invalid api key"}}"#, "auth"),
        (403, "forbidden", "auth"),
        (429, r#"{"error":"too many requests"}"#, "rate-limited"),
        (
            400,
            r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}"#,
            "context-overflow",
        ),
        (413, "prompt is too long", "context-overflow"),
        (400, r#"{"error":"invalid message format"}"#, "bad-request"),
    ];
    for (status, body, kind) in cases {
        let server =
            serve(ModelSpec::new("m").chat_behaviour(Behaviour::Status(status, body.into()))).await;
        for client in [openai(&server, IDLE), native(&server, IDLE)] {
            let error = chat(&client, &ask("m")).await.0.unwrap_err();
            assert_eq!(error.kind(), kind, "{status} {body}: {error}");
        }
    }
    let server = serve(ModelSpec::new("m").chat_behaviour(Behaviour::Status(
        500,
        r#"{"error":"llama runner process has terminated"}"#.into(),
    )))
    .await;
    let error = chat(&openai(&server, IDLE), &ask("m")).await.0.unwrap_err();
    let LlmError::Server {
        status,
        message,
        url,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(
        (*status, message.as_str()),
        (500, "llama runner process has terminated")
    );
    assert!(url.ends_with("/v1/chat/completions"), "{url}");
    assert!(error.should_fall_back());
}

#[tokio::test]
async fn an_unknown_model_is_model_not_found_on_both_wires() {
    let server = serve(ModelSpec::new("llama3.3")).await;
    for client in [openai(&server, IDLE), native(&server, IDLE)] {
        let error = chat(&client, &ask("nope:7b")).await.0.unwrap_err();
        let LlmError::ModelNotFound { model, message, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(model, "nope:7b");
        assert!(
            message.contains("not found") && message.contains("nope:7b"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_wrong_base_url_is_not_model_not_found() {
    let server = serve(ModelSpec::new("llama3.3")).await;
    // `/v1` forgotten: the server answers its plain `404 page not found`.
    let client = ModelClient::new(endpoint(ApiKind::OpenAiCompletions, server.url(), IDLE));
    let error = chat(&client, &ask("llama3.3")).await.0.unwrap_err();
    assert_eq!(error.kind(), "bad-request", "{error}");
    assert!(error.to_string().contains("404 page not found"), "{error}");
}

#[tokio::test]
async fn errors_inside_a_200_stream_are_classified() {
    let body = "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n";
    let server = serve(ModelSpec::new("m").reply(Reply::Ndjson(body.into()))).await;
    let error = chat(&native(&server, IDLE), &ask("m")).await.0.unwrap_err();
    assert_eq!(error.kind(), "server", "{error}");
    assert!(error.to_string().contains("unexpected EOF"), "{error}");

    let sse = "data: {\"error\":{\"code\":400,\"message\":\"the request exceeds the available context size\",\"type\":\"exceed_context_size_error\"}}\n\n";
    let server = serve(ModelSpec::new("m").reply(Reply::Sse(sse.into()))).await;
    let error = chat(&openai(&server, IDLE), &ask("m")).await.0.unwrap_err();
    assert_eq!(error.kind(), "context-overflow", "{error}");
}

#[tokio::test]
async fn a_hanging_server_times_out_after_the_idle_timeout() {
    let idle = Duration::from_millis(500);
    let server = serve(ModelSpec::new("m").chat_behaviour(Behaviour::Hang)).await;
    for client in [openai(&server, idle), native(&server, idle)] {
        let started = Instant::now();
        let error = chat(&client, &ask("m")).await.0.unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            matches!(error, LlmError::Timeout { idle: i, .. } if i == idle),
            "{error:?}"
        );
        assert!(
            elapsed >= idle && elapsed < idle + Duration::from_secs(1),
            "{elapsed:?}"
        );
        assert!(error.should_fall_back());
    }
}

/// An SSE reply of `n` content events, then `stop` and `[DONE]`.
fn slow_reply(n: usize) -> String {
    let mut body = String::new();
    for i in 0..n {
        let chunk =
            json!({"choices": [{"index": 0, "delta": {"reasoning": format!("step {i}. ")}}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    body.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"done\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    body
}

#[tokio::test]
async fn a_slow_model_that_keeps_streaming_is_never_cut_off() {
    // 12 gaps of 300 ms: 3.6 s in all, three times the 1 s idle timeout.
    let server = serve(
        ModelSpec::new("m")
            .reply(Reply::Sse(slow_reply(11)))
            .chunk_delay(Duration::from_millis(300)),
    )
    .await;
    let started = Instant::now();
    let (result, events) = chat(&openai(&server, Duration::from_secs(1)), &ask("m")).await;
    let reply = result.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.text, "done");
    assert!(reply.thinking.starts_with("step 0. step 1. "));
    assert_eq!(events.len(), 12);
}

#[tokio::test]
async fn a_gap_longer_than_the_idle_timeout_mid_stream_times_out() {
    let server = serve(
        ModelSpec::new("m")
            .reply(Reply::Sse(slow_reply(3)))
            .chunk_delay(Duration::from_millis(1500)),
    )
    .await;
    let (result, events) = chat(&openai(&server, Duration::from_millis(400)), &ask("m")).await;
    assert_eq!(result.unwrap_err().kind(), "timeout");
    assert_eq!(events, vec![StreamEvent::Thinking("step 0. ".into())]);
}

#[tokio::test]
async fn a_refused_connection_is_connect() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for api in [ApiKind::OpenAiCompletions, ApiKind::Ollama] {
        let client = ModelClient::new(endpoint(api, format!("http://127.0.0.1:{port}"), IDLE));
        let error = chat(&client, &ask("m")).await.0.unwrap_err();
        let LlmError::Connect { detail, url } = &error else {
            panic!("{error:?}")
        };
        assert!(detail.contains("connection refused"), "{detail}");
        assert!(
            url.starts_with(&format!("http://127.0.0.1:{port}/")),
            "{url}"
        );
        assert!(error.should_fall_back());
    }
}

#[tokio::test]
async fn an_unsupported_api_fails_before_any_request() {
    let server = serve(ModelSpec::new("m")).await;
    let client = ModelClient::new(endpoint(ApiKind::Unsupported, server.url(), IDLE));
    let error = chat(&client, &ask("m")).await.0.unwrap_err();
    assert_eq!(error.kind(), "connect");
    assert_eq!(server.request_count(), 0);
}
