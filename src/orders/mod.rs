//! Orders: placing them without ever overselling, idempotent retries, the lifecycle and reading.

pub mod events;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
