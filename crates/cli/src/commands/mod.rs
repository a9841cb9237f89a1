//! One module per command.

pub mod agent;
pub mod chat;
pub mod completions;
pub mod config;
pub mod context;
pub mod doctor;
pub mod gateway;
pub mod gateway_service;
pub mod memory;
pub mod models;
pub mod onboard;
pub mod pull;
