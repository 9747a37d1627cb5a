//! Vietnam's administrative map on both sides of the 2025 reform (vendored in a migration; see
//! `data/admin-map/`), `GET /provinces` and `GET /provinces/{code}/communes`.

pub mod repo;
pub mod routes;

pub use crate::admin_map::{
    AdminMap, HouseholdPlace, MappedProvince, PlaceFields, PlaceInput, ProvinceMap, query_map,
};
pub use routes::config;

/// A province code as given, checked for shape before any lookup: two digits.
pub fn looks_like_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit())
}
