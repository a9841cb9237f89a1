//! The areas under test; `support` is the shared harness.

mod http_api;
mod openai_clients;
mod openai_compat;
mod openai_local_model;
mod python_client;
mod router;
mod shutdown;
mod support;
mod websocket;
