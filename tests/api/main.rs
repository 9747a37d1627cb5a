//! Black-box tests: each starts the real application on a random port against a fresh
//! database and talks HTTP to it. Every behaviour runs on SQLite and on PostgreSQL.

mod helpers;

mod auth;
mod errors;
mod operations;
