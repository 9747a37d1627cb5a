//! The platform's books: double-entry, every movement of money one balanced entry. Orders,
//! checkouts and payments *book* what happened (a payment received, a share payable, a refund
//! owed, a payout made); this module alone owns the ledger tables, their SQL and the check that
//! every entry balances and every balance is the sum of its entries.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
