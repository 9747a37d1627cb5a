//! Carts across farms: what a cart's parcels cost to ship (`POST /shipping/quote`), placing one
//! checkout as one order per household (`POST /checkouts`, and `POST /orders` for one household),
//! paying it by VietQR bank transfer, and expiring unpaid transfers.

pub mod model;
pub mod placing;
pub mod repo;
pub mod routes;
pub mod service;
pub mod vietqr;
