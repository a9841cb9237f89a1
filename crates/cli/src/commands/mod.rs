//! One module per command.

pub mod agent;
pub mod chat;
pub mod completions;
pub mod config;
pub mod doctor;
pub mod gateway;
pub mod gateway_service;
pub mod models;
pub mod onboard;
pub mod pull;
