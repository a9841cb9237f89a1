//! The harness: a throw-away state directory, the test server as Ollama (found by discovery,
//! as in real use), a gateway on 127.0.0.1:0 in this process, and small HTTP/SSE/WebSocket
//! clients. Waiting is always polling with a deadline, never a fixed sleep.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use openclaw_config::{OpenClawConfig, StatePaths};
use openclaw_gateway::{AppState, AuthMode, GatewayOptions, Limits};
use openclaw_test_support::{fixture, ModelSpec, Reply, TestServer};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TOKEN: &str = "test-token-0123456789";

/// A state directory plus the model server the gateway discovers.
pub struct Fixture {
    pub dir: TempDir,
    pub server: TestServer,
}

impl Fixture {
    /// The test server with these models; the first is the agent's default.
    pub async fn new(models: Vec<ModelSpec>) -> Self {
        let server = TestServer::builder().models(models).start().await.unwrap();
        Self {
            dir: tempfile::Builder::new()
                .prefix("openclaw-gateway-test-")
                .tempdir()
                .unwrap(),
            server,
        }
    }

    /// One instant model `m`.
    pub async fn simple() -> Self {
        Self::new(vec![ModelSpec::new("m")]).await
    }

    pub fn paths(&self) -> StatePaths {
        StatePaths::in_dir(self.dir.path())
    }

    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("workspace")
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.paths().sessions_dir("main")
    }

    /// Gateway options: token auth, discovery of the test server, `ollama/<first model>` as
    /// the default model.
    pub fn options(&self, bind: SocketAddr, limits: Limits) -> GatewayOptions {
        let first = self
            .server
            .model_names()
            .first()
            .cloned()
            .unwrap_or_default();
        let config: OpenClawConfig = serde_json::from_value(json!({
            "agents": {"defaults": {"model": {"primary": format!("ollama/{first}")}}},
            "gateway": {"controlUi": {"allowedOrigins": ["https://app.example"]}},
        }))
        .unwrap();
        GatewayOptions {
            config,
            paths: self.paths(),
            env: [
                ("OLLAMA_API_KEY".to_string(), "ollama-local".to_string()),
                ("OLLAMA_HOST".to_string(), self.server.addr().to_string()),
                ("HOME".to_string(), self.dir.path().display().to_string()),
            ]
            .into_iter()
            .collect(),
            auth: AuthMode::Token(TOKEN.into()),
            bind,
            allowed_origins: vec!["https://app.example".into()],
            limits,
        }
    }

    /// State for router tests (no socket); the gateway "listens" on 127.0.0.1:18789.
    pub fn state(&self) -> Arc<AppState> {
        AppState::new(self.options("127.0.0.1:18789".parse().unwrap(), Limits::default()))
    }

    /// A real gateway on 127.0.0.1:0.
    pub async fn gateway(&self) -> Gateway {
        self.gateway_with(Limits::default()).await
    }

    pub async fn gateway_with(&self, limits: Limits) -> Gateway {
        let listener = openclaw_gateway::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState::new(self.options(addr, limits));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(openclaw_gateway::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Gateway {
            addr,
            state,
            stop: Some(stop),
            task,
        }
    }
}

/// A gateway running in this process.
pub struct Gateway {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The protocol's address: WebSocket upgrades of `/`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Sends the shutdown signal (as SIGTERM would).
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// A WebSocket that has done `connect` with the right token and every operator scope.
    pub async fn ws(&self) -> Ws {
        self.ws_with_scopes(&[
            "operator.read",
            "operator.write",
            "operator.admin",
            "operator.approvals",
        ])
        .await
    }

    /// A WebSocket that has done `connect` asking for these scopes.
    pub async fn ws_with_scopes(&self, scopes: &[&str]) -> Ws {
        let mut ws = Ws::open(&self.ws_url()).await;
        let res = ws
            .request("connect", connect_params(Some(TOKEN), scopes))
            .await;
        assert_eq!(res["ok"], true, "{res}");
        assert_eq!(res["payload"]["type"], "hello-ok", "{res}");
        ws
    }

    /// Polls until no run is going.
    pub async fn wait_runs_idle(&self) {
        let state = self.state.clone();
        eventually("every run has ended", || state.active_runs() == 0).await;
    }
}

/// Polls `check` every 10 ms for up to 10 s.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An HTTP client that never uses a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The `data:` payloads of an SSE body.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

/// The concatenated `delta.content` of SSE chunks.
pub fn sse_content(data: &[String]) -> String {
    data.iter()
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect()
}

/// An Ollama-shaped `/v1` text stream, one chunk per piece.
pub fn text_stream(pieces: &[&str]) -> String {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751919739,"model":"m",
                "system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":delta,"finish_reason":finish}]})
        )
    };
    let mut out = String::new();
    for (i, p) in pieces.iter().enumerate() {
        let delta = if i == 0 {
            json!({"role":"assistant","content":p})
        } else {
            json!({"content":p})
        };
        out.push_str(&chunk(delta, Value::Null));
    }
    out.push_str(&chunk(json!({}), json!("stop")));
    out.push_str("data: [DONE]\n\n");
    out
}

/// A `/v1` stream in which the model calls `tool` with `arguments` (Ollama's fixture shape).
pub fn call_stream(tool: &str, arguments: &Value) -> String {
    let args = serde_json::to_string(&arguments.to_string()).unwrap();
    fixture("ollama/chat-stream-toolcall.sse")
        .replace("get_weather", tool)
        .replace(r#""{\"city\":\"Tokyo\"}""#, &args)
}

/// A slow model: `n` pieces `w0 w1 …`, `delay` apart.
pub fn slow_model(name: &str, n: usize, delay: Duration) -> ModelSpec {
    let pieces: Vec<String> = (0..n).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    ModelSpec::new(name)
        .reply(Reply::Sse(text_stream(&refs)))
        .chunk_delay(delay)
}

/// `connect` parameters as OpenClaw's CLI sends them.
pub fn connect_params(token: Option<&str>, scopes: &[&str]) -> Value {
    let mut p = json!({
        "minProtocol": 4,
        "maxProtocol": 4,
        "client": {"id": "cli", "version": "test", "platform": "linux", "mode": "cli"},
        "role": "operator",
        "scopes": scopes,
        // A client that shows exec approvals (runs wait for its answer when it may approve).
        "caps": ["exec-approvals"],
    });
    if let Some(token) = token {
        p["auth"] = json!({ "token": token });
    }
    p
}

/// A WebSocket client speaking the protocol.
pub struct Ws {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events received while waiting for a response.
    pub events: Vec<Value>,
    /// The `connect.challenge` the gateway opened with.
    pub challenge: Value,
}

impl Ws {
    /// Opens the socket and reads the challenge the gateway sends first.
    pub async fn open(url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut ws = Self {
            socket,
            next_id: 0,
            events: Vec::new(),
            challenge: Value::Null,
        };
        let first = ws.next().await.expect("a challenge first");
        assert_eq!(first["event"], "connect.challenge", "{first}");
        assert!(first.get("seq").is_none(), "{first}");
        ws.challenge = first;
        ws
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_string().into()))
            .await
            .unwrap();
    }

    /// The next frame as JSON, or `Err(close frame)` when the server closed.
    pub async fn next(&mut self) -> Result<Value, Option<(u16, String)>> {
        let deadline = Duration::from_secs(10);
        loop {
            let frame = tokio::time::timeout(deadline, self.socket.next())
                .await
                .expect("no frame within 10 s");
            match frame {
                Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(Message::Close(c))) => {
                    return Err(c.map(|c| (u16::from(c.code), c.reason.to_string())))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    /// Sends a request; returns its response, keeping events that came first.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = format!("r{}", self.next_id);
        let frame = json!({"type": "req", "id": id, "method": method, "params": params});
        self.send_text(&frame.to_string()).await;
        loop {
            let v = self
                .next()
                .await
                .unwrap_or_else(|c| panic!("closed: {c:?}"));
            if v["type"] == "res" && v["id"] == id {
                return v;
            }
            self.events.push(v);
        }
    }

    /// `agent`: its `accepted` response, then its final one (events in between are kept).
    pub async fn request_final(&mut self, method: &str, params: Value) -> (Value, Value) {
        let first = self.request(method, params).await;
        let id = first["id"].clone();
        loop {
            let v = self
                .next()
                .await
                .unwrap_or_else(|c| panic!("closed: {c:?}"));
            if v["type"] == "res" && v["id"] == id {
                return (first, v);
            }
            self.events.push(v);
        }
    }

    /// The next event (from the backlog first), ticks left out.
    pub async fn event(&mut self) -> Value {
        loop {
            let v = if self.events.is_empty() {
                self.next()
                    .await
                    .unwrap_or_else(|c| panic!("closed: {c:?}"))
            } else {
                self.events.remove(0)
            };
            assert_eq!(v["type"], "event", "{v}");
            if v["event"] != "tick" {
                return v;
            }
        }
    }

    /// The events of run `run_id` (its `agent` and `chat` events and its approvals) until and
    /// including its terminal `chat` event; other events are dropped.
    pub async fn run_events(&mut self, run_id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let e = self.event().await;
            let p = &e["payload"];
            let mine = p["runId"] == run_id || p["request"]["runId"] == run_id;
            if !mine {
                continue;
            }
            let terminal = e["event"] == "chat"
                && matches!(p["state"].as_str(), Some("final" | "error" | "aborted"));
            out.push(e);
            if terminal {
                return out;
            }
        }
    }
}

/// The `state`s of the `chat` events among `events`.
pub fn states(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "chat")
        .map(|e| e["payload"]["state"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The `agent` events of one stream (`lifecycle`, `assistant`, `tool`, …) among `events`.
pub fn agent_stream<'a>(events: &'a [Value], stream: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "agent" && e["payload"]["stream"] == stream)
        .map(|e| &e["payload"]["data"])
        .collect()
}

/// The answer text streamed by a run's `chat` deltas.
pub fn streamed_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["event"] == "chat" && e["payload"]["state"] == "delta")
        .map(|e| e["payload"]["deltaText"].as_str().unwrap_or(""))
        .collect()
}
