//! One integration-test binary for the test server: it talks to a real socket with a real
//! HTTP client, the way the project's other crates will.

// Helpers outside `#[test]` functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
