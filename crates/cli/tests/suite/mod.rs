//! The areas of the `openclaw` CLI under test; `support` holds the shared harness.

mod agent_cmd;
mod config_cmd;
mod crash_safety;
mod discovery;
mod errors;
mod models_cmd;
mod seed_page;
mod support;
