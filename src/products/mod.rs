//! Product listings: create, search and filter, read (counting views), change, archive.

pub mod cache;
pub mod events;
pub mod listings;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
pub mod views;
