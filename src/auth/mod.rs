//! Accounts: registration, login with bearer tokens, logout, `/me`, and the extractor that
//! gives handlers the signed-in user.

pub mod extract;
pub mod hashing;
pub mod model;
pub mod password;
pub mod repo;
pub mod routes;
pub mod service;
pub mod throttle;
pub mod token;

pub use extract::{CurrentUser, MaybeUser};
pub use model::Role;
