//! Farm households: register, list, read, change.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
