//! The areas of the `openclaw` CLI under test; `support` holds the shared harness.

mod agent_cmd;
mod bounded_tools;
mod colour;
mod command_snapshots;
mod completions_cmd;
mod config_cmd;
mod config_safety;
mod crash_safety;
mod discovery;
mod doctor_cmd;
mod errors;
mod faults;
mod gateway_cmd;
mod gateway_faults;
mod kill_loops;
mod memory_cmd;
mod model_health;
mod models_cmd;
mod onboard_cmd;
mod pull_cmd;
mod sandbox_attacks;
mod secrets_at_rest;
mod security;
mod seed_page;
mod support;
mod terminal_safety;
