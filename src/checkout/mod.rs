//! Carts across farms: what a cart's parcels cost to ship (`POST /shipping/quote`). A cart's
//! products are grouped by household, one parcel each, priced by `crate::shipping`.

pub mod model;
pub mod routes;
pub mod service;
