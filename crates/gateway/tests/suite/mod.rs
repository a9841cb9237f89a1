//! The areas under test; `support` is the shared harness.

mod http_api;
mod python_client;
mod router;
mod shutdown;
mod support;
mod websocket;
