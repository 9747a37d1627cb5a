//! nongsan: a backend for agricultural e-commerce marketplaces.

pub mod api;
pub mod auth;
pub mod cli;
pub mod client_address;
pub mod config;
pub mod context;
pub mod db;
pub mod demo;
pub mod error;
pub mod health;
pub mod households;
pub mod ids;
pub mod imports;
pub mod metrics;
pub mod openapi;
pub mod orders;
pub mod products;
pub mod provinces;
pub mod reports;
pub mod search;
pub mod serde_util;
pub mod startup;
pub mod stats;
pub mod telemetry;
pub mod time;
pub mod validate;
