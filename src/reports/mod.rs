//! Uptake statistics for admins: growth against a compared period, by province, category,
//! month and household, per product; as JSON, CSV and an SVG chart. Served from daily rollups.

pub mod chart;
pub mod csv_out;
pub mod metric;
pub mod model;
pub mod period;
pub mod repo;
pub mod routes;
pub mod service;
