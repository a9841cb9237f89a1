//! The agent loop against the Ollama-compatible test server: tools, fallback, timeouts,
//! compaction. Replies are the fixture streams (Ollama's `/v1` shapes) with the tool renamed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use openclaw_agent::{
    Agent, AgentEvent, Candidate, Entry, ExecPolicy, NoApprover, Session, Workspace,
};
use openclaw_config::ApiKind;
use openclaw_llm::Endpoint;
use openclaw_models::ModelRef;
use openclaw_test_support::{
    text_stream, tool_call_stream, Behaviour, ModelSpec, Reply, TestServer,
};

fn candidate(name: &str, base: &str, context_window: u64, idle: Duration) -> Candidate {
    Candidate {
        model_ref: ModelRef::new("ollama", name),
        model_id: name.to_string(),
        reasoning: false,
        context_window,
        max_tokens: context_window * 10,
        endpoint: Endpoint {
            api: ApiKind::OpenAiCompletions,
            base_url: format!("{base}/v1"),
            api_key: Some("ollama-local".into()),
            headers: Default::default(),
            idle_timeout: idle,
        },
        num_ctx: None,
        temperature: None,
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    workspace: Workspace,
    sessions: std::path::PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("workspace");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("notes.txt"), "The launch code is 4242.\n").unwrap();
    let workspace = Workspace::open(&ws).unwrap();
    let sessions = dir.path().join("sessions");
    Setup {
        _dir: dir,
        workspace,
        sessions,
    }
}

fn agent(s: &Setup, candidates: Vec<Candidate>) -> Agent {
    Agent::new(
        candidates,
        s.workspace.clone(),
        ExecPolicy::default(),
        Box::new(NoApprover),
    )
}

fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn tool_call_runs_and_its_result_goes_back_to_the_model() {
    let server = TestServer::builder()
        .model(
            ModelSpec::new("m")
                .reply(Reply::Sse(tool_call_stream(
                    "read",
                    r#"{"path":"notes.txt"}"#,
                )))
                .reply(Reply::Sse(text_stream("m", &["The code ", "is 4242."]))),
        )
        .start()
        .await
        .unwrap();
    let s = setup();
    let mut a = agent(
        &s,
        vec![candidate(
            "m",
            &server.url(),
            32768,
            Duration::from_secs(10),
        )],
    );
    let mut session = Session::open(&s.sessions, "t1", s.workspace.root()).unwrap();
    let mut events = Vec::new();
    let out = a
        .run_turn(&mut session, "What does notes.txt say?", &mut |e| {
            events.push(e)
        })
        .await
        .unwrap();
    assert_eq!(out.answer, "The code is 4242.");
    assert_eq!(out.tool_calls.len(), 1);
    assert_eq!(out.tool_calls[0].0.name, "read");
    assert!(!out.tool_calls[0].1.is_error);
    assert_eq!(out.rounds, 2);
    // The transcript holds the user message, the call, its result and the answer, in order.
    let kinds: Vec<&str> = session
        .entries()
        .iter()
        .map(|e| match e {
            Entry::Session { .. } => "session",
            Entry::Message {
                role: openclaw_llm::Role::User,
                ..
            } => "user",
            Entry::Message { tool_calls, .. } if !tool_calls.is_empty() => "call",
            Entry::Message { .. } => "answer",
            Entry::ToolResult { .. } => "result",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["session", "user", "call", "result", "answer"]);
    // The second request carried the tool result back, in OpenAI's tool-message shape.
    let chats: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .collect();
    assert_eq!(chats.len(), 2);
    let body = chats[1].json().unwrap();
    let tool_msg = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert!(tool_msg["content"].as_str().unwrap().contains("4242"));
    assert_eq!(tool_msg["tool_call_id"], "call_k3v9x2ab");
    assert!(events
        .iter()
        .any(|e| matches!(e, AgentEvent::ToolResult { .. })));
}

async fn fallback_case(
    primary: Candidate,
    server: &TestServer,
) -> (
    openclaw_agent::TurnOutcome,
    Vec<AgentEvent>,
    Session,
    Duration,
) {
    let s = setup();
    let second = candidate("backup", &server.url(), 32768, Duration::from_secs(10));
    let mut a = agent(&s, vec![primary, second]);
    let mut session = Session::open(&s.sessions, "f", s.workspace.root()).unwrap();
    let mut events = Vec::new();
    let start = Instant::now();
    let out = a
        .run_turn(&mut session, "hello", &mut |e| events.push(e))
        .await
        .unwrap();
    (out, events, session, start.elapsed())
}

#[tokio::test]
async fn refused_connection_falls_back_and_says_so() {
    let server = TestServer::builder()
        .model(ModelSpec::new("backup"))
        .start()
        .await
        .unwrap();
    let primary = candidate("gone", &closed_port_url(), 32768, Duration::from_secs(10));
    let (out, events, session, _) = fallback_case(primary, &server).await;
    assert_eq!(out.model, "ollama/backup");
    assert_eq!(out.answer, "Hello from backup");
    assert_eq!(out.fallbacks.len(), 1);
    assert_eq!(out.fallbacks[0].kind, "connect");
    assert!(events.iter().any(|e| matches!(e, AgentEvent::FallingBack { kind: "connect", to, .. } if to == "ollama/backup")));
    assert!(session
        .entries()
        .iter()
        .any(|e| matches!(e, Entry::ModelChange { model, .. } if model == "ollama/backup")));
}

#[tokio::test]
async fn server_error_falls_back() {
    let server = TestServer::builder()
        .model(ModelSpec::new("broken").chat_behaviour(Behaviour::Status(
            500,
            r#"{"error":"llama runner process has terminated"}"#.into(),
        )))
        .model(ModelSpec::new("backup"))
        .start()
        .await
        .unwrap();
    let primary = candidate("broken", &server.url(), 32768, Duration::from_secs(10));
    let (out, _, _, _) = fallback_case(primary, &server).await;
    assert_eq!(out.fallbacks[0].kind, "server");
    assert!(
        out.fallbacks[0]
            .message
            .contains("llama runner process has terminated"),
        "{}",
        out.fallbacks[0].message
    );
    assert_eq!(out.model, "ollama/backup");
}

#[tokio::test]
async fn hanging_model_falls_back_within_the_timeout_plus_two_seconds() {
    let server = TestServer::builder()
        .model(ModelSpec::new("stuck").chat_behaviour(Behaviour::Hang))
        .model(ModelSpec::new("backup"))
        .start()
        .await
        .unwrap();
    let primary = candidate("stuck", &server.url(), 32768, Duration::from_secs(1));
    let (out, _, _, elapsed) = fallback_case(primary, &server).await;
    assert_eq!(out.fallbacks[0].kind, "timeout");
    assert_eq!(out.model, "ollama/backup");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[tokio::test]
async fn slow_model_that_keeps_streaming_is_not_cut_off() {
    // 12 chunks 300 ms apart: 3.6 s in all, three times the 1 s idle timeout.
    let pieces: Vec<String> = (0..12).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let server = TestServer::builder()
        .model(
            ModelSpec::new("slow")
                .reply(Reply::Sse(text_stream("slow", &refs)))
                .chunk_delay(Duration::from_millis(300)),
        )
        .start()
        .await
        .unwrap();
    let s = setup();
    let mut a = agent(
        &s,
        vec![candidate(
            "slow",
            &server.url(),
            32768,
            Duration::from_secs(1),
        )],
    );
    let mut session = Session::open(&s.sessions, "slow", s.workspace.root()).unwrap();
    let start = Instant::now();
    let out = a
        .run_turn(&mut session, "take your time", &mut |_| {})
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "the stream should really have been slow"
    );
    assert!(out.fallbacks.is_empty());
    assert_eq!(out.answer, pieces.concat());
}

#[tokio::test]
async fn long_session_compacts_once_and_the_next_request_fits_with_the_summary() {
    let server = TestServer::builder()
        .model(ModelSpec::new("tiny"))
        .start()
        .await
        .unwrap();
    let s = setup();
    let budget = 3000;
    let mut a = agent(
        &s,
        vec![candidate(
            "tiny",
            &server.url(),
            budget,
            Duration::from_secs(10),
        )],
    );
    let mut session = Session::open(&s.sessions, "long", s.workspace.root()).unwrap();
    let long = "lorem ipsum dolor sit amet ".repeat(75); // ~2000 characters, ~500 tokens
    for turn in 0..5 {
        a.run_turn(&mut session, &format!("turn {turn}: {long}"), &mut |_| {})
            .await
            .unwrap();
    }
    assert_eq!(session.compactions(), 1, "exactly one compaction entry");
    // The last chat request (after compaction) carries the summary and fits the budget.
    let last = server
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .unwrap();
    let body = last.json().unwrap();
    let messages = body["messages"].as_array().unwrap();
    assert!(messages.iter().any(|m| m["content"]
        .as_str()
        .unwrap_or("")
        .starts_with("[Summary of the earlier conversation]")));
    let approx_tokens = last.body.len() / 4;
    assert!(
        approx_tokens < budget as usize,
        "request of ~{approx_tokens} tokens exceeds the {budget} budget"
    );
}

#[tokio::test]
async fn context_overflow_compacts_and_retries_instead_of_falling_back() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let mock = MockServer::start().await;
    // llama.cpp's answer when the prompt does not fit (server.cpp `exceed_context_size_error`).
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(text_stream("m", &["fits now"])),
        )
        .with_priority(2)
        .mount(&mock)
        .await;
    let s = setup();
    let backup_never_used = candidate("backup", &closed_port_url(), 32768, Duration::from_secs(1));
    let mut a = agent(
        &s,
        vec![
            candidate("m", &mock.uri(), 32768, Duration::from_secs(10)),
            backup_never_used,
        ],
    );
    let mut session = Session::open(&s.sessions, "ovf", s.workspace.root()).unwrap();
    for i in 0..3 {
        session
            .append(Entry::Message {
                role: openclaw_llm::Role::User,
                content: format!("earlier question {i}"),
                tool_calls: vec![],
                thinking: None,
                model: None,
                ts: 1,
            })
            .unwrap();
        session
            .append(Entry::Message {
                role: openclaw_llm::Role::Assistant,
                content: format!("earlier answer {i}"),
                tool_calls: vec![],
                thinking: None,
                model: None,
                ts: 1,
            })
            .unwrap();
    }
    let mut compacted = false;
    let out = a
        .run_turn(&mut session, "one more", &mut |e| {
            if matches!(e, AgentEvent::Compacted { .. }) {
                compacted = true;
            }
        })
        .await
        .unwrap();
    assert_eq!(out.answer, "fits now");
    assert!(
        out.fallbacks.is_empty(),
        "overflow must not fall back: {:?}",
        out.fallbacks
    );
    assert!(compacted);
    assert_eq!(session.compactions(), 1);
}
