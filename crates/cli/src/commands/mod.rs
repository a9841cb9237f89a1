//! One module per command.

pub mod agent;
pub mod chat;
pub mod config;
pub mod models;
