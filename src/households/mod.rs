//! Farm households: register, list, read, change.

pub mod events;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
