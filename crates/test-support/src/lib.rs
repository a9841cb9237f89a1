//! An Ollama-compatible HTTP server for tests and benchmarks.
//!
//! Tests of discovery, chat clients, the gateway and the CLI need an Ollama that holds state
//! (many models, slow or broken ones, a log of what was asked) and answers with the shapes a
//! real Ollama sends. Every response shape here comes from the fixtures in `fixtures/` (copies
//! of Ollama's documented examples, shapes synthesised from its Go source, and captures from a
//! local llama.cpp backend); nothing is invented.
//!
//! Beside it: [`gateway`], a running `openclaw gateway` with its HTTP and WebSocket clients
//! and memory probe, shared by every test binary that starts one; [`local_backend`], the real
//! local model shared safely by the end-to-end tests; [`requirement`], what a test does when a
//! part it needs is not installed; [`measure`], the memory of a process.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use openclaw_test_support::{Behaviour, ModelSpec, PullScript, TestServer};
//! use std::time::Duration;
//!
//! let server = TestServer::builder()
//!     .model(ModelSpec::new("llama3.3"))
//!     .model(ModelSpec::new("qwen3:8b").capabilities(&["completion", "tools", "thinking"]))
//!     .model(ModelSpec::new("slow").behaviour(Behaviour::Delay(Duration::from_millis(200))))
//!     // `POST /api/pull` of mistral streams progress, then lists it.
//!     .pull_script("mistral", PullScript::new())
//!     .start()
//!     .await?;
//! let base_url = server.url(); // "http://127.0.0.1:PORT"
//! # let _ = base_url;
//! # Ok(())
//! # }
//! ```
// A test harness: skip notices and measurements are for whoever runs the tests (stderr).
#![allow(clippy::print_stderr)]

mod behaviour;
mod chat;
mod clock;
mod fixtures;
pub mod gateway;
pub mod local_backend;
pub mod measure;
mod ollama_api;
mod pull;
mod pull_script;
pub mod requirement;
mod server;
mod spec;
mod state;
mod streams;

pub use fixtures::{fixture, fixture_models, fixture_path};
pub use pull_script::PullScript;
pub use server::{TestServer, TestServerBuilder};
pub use spec::{mixed_models, Behaviour, ModelSpec, RawReply, Reply, SENT_AT_PLACEHOLDER};
pub use state::RecordedRequest;
pub use streams::{text_stream, tool_call_stream, ChatWire};

/// The version `/api/version` reports.
pub const OLLAMA_VERSION: &str = "0.12.0";
