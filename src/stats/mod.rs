//! Statistics: the daily rollups behind the reports.
//!
//! Domains *tell* stats what happened, as plain data ([`events`]: a household joined, a product
//! was listed, an order was placed or cancelled, views were counted, …) into a [`StatsBatch`];
//! stats alone owns the rollup tables (`stats_days`, `stats_household_days`,
//! `stats_product_days`, `stats_product_export_days`, `stats_category_days`,
//! `stats_active_months`) and all their SQL: the writing ([`batch`]), the reading the reports do
//! ([`read`]), and the recomputation from the raw tables ([`recompute`]). It depends only on
//! `db`, `error`, `time` and `config`, never on a domain.
//!
//! The rollups stay exact: every write that changes a metric tells stats in its own transaction
//! (`write_at_commit`, or `write` for an import), so they commit or roll back together; and
//! `nongsan rebuild-rollups` recomputes every table from the raw rows through the very same batch
//! functions (`--check` compares the recomputation with what is stored). A sum that would pass
//! 64 bits is refused ([`CounterOverflow`]), never wrapped.
//!
//! Adding a metric takes three places: a variant of [`Metric`] (with its name, column and unit),
//! its column in `stats_days` (and in whichever other table keeps it, listed in
//! `batch::Table::counters`), and a migration pair (`migrations/postgres` and
//! `migrations/sqlite`). The queries select every metric's column from [`Metric::ALL`]; an event
//! that produces the metric says how much.

pub mod batch;
pub mod events;
pub mod metric;
pub mod read;
pub mod recompute;

pub use batch::{DAY_SHARDS, RollupKey, StatsBatch, first_of_month, rebuild, stored};
pub use events::{
    HouseholdJoined, HouseholdStatusChanged, MoneyBooked, OrderLine, OrderPlaced, ProductListed,
    ProductStatusChanged,
};
pub use metric::{CounterOverflow, Counts, Metric, Unit};
pub use recompute::recompute;
