//! What the bank tells us: signed bank-statement lines, matched to checkouts by the code in
//! their content. An exact amount pays the checkout's orders; anything else (short, over, an
//! unknown code, a late payment) is recorded for admins and booked as unmatched money. A
//! transaction the bank sends twice is recorded once.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
