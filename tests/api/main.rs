//! Black-box tests: each starts the real application on a random port against a fresh
//! database and talks HTTP to it. Every behaviour runs on SQLite and on PostgreSQL.

// Comparing listings with `[id.clone()]` reads better than `std::slice::from_ref(&id)`.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod helpers;

mod abuse;
mod accounts;
mod admin_map;
mod auth;
mod checkout;
mod crash;
mod disk;
mod errors;
mod households;
mod integrity;
mod operations;
mod orders;
mod payments;
mod products;
mod reports;
mod search;
