//! Integration tests of the gateway: one test binary, one module per area under `suite/`.
//! Router tests call [`openclaw_gateway::app`] without a socket; the others run the real
//! server on 127.0.0.1:0 against the Ollama-compatible test server. None needs Ollama.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
