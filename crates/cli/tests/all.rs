//! Integration tests of the `openclaw` binary: one test binary (codex-rs style), one module per
//! area under `suite/`. Every test runs the real binary in a throw-away HOME against the
//! Ollama-compatible test server; none needs Ollama or the network.
// Tests report what they measured on stderr, for whoever runs them.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
