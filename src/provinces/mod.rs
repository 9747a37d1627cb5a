//! The 63 provinces and centrally-run cities (shipped in a migration) and `GET /provinces`.

pub mod repo;
pub mod routes;

pub use repo::{Province, all, exists};
pub use routes::config;

/// A province code as given, checked for shape before any lookup: two digits.
pub fn looks_like_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit())
}
