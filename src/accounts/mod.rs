//! Account administration: admins look up accounts and suspend or reinstate them. Above both
//! `auth` (the accounts and their tokens) and `households` (whose households a suspension takes
//! off the market), so that neither of those depends on the other.

pub mod routes;
pub mod service;
