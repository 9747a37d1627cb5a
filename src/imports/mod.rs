//! Bringing in history from other platforms (NDJSON), shared by `POST /admin/imports`,
//! `nongsan import FILE` and the demo data: the whole input is checked first, then written in
//! one transaction, with the rollups, or not at all.

pub mod model;
pub mod routes;
pub mod service;
