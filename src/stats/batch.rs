//! The rollup tables and their writing: a batch collects the deltas of what the domains tell it
//! (see [`super::events`]), merged per row, and adds them to the tables in the teller's own
//! transaction; `rebuild` recomputes the same tables from the raw rows through the very same
//! functions, so the two cannot drift apart in how they count.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{Date, Text};

use super::events::{
    HouseholdJoined, HouseholdStatusChanged, MoneyBooked, OrderPlaced, ProductListed,
    ProductStatusChanged,
};
use super::metric::{CounterOverflow, Counts, Metric, select_counters};
use crate::db::sql::{self, ArrayColumn, Sql};
use crate::db::{CommitWrite, DbConnection};
use crate::time::local_day;

/// Which rollup row a delta goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RollupKey {
    Day(NaiveDate),
    Household {
        household_id: String,
        day: NaiveDate,
    },
    Product {
        product_id: String,
        day: NaiveDate,
    },
    Export {
        product_id: String,
        day: NaiveDate,
        country_code: String,
    },
    Category {
        household_id: String,
        category: String,
        day: NaiveDate,
    },
    /// The platform's running totals per month (keyed by its first day), mirroring the day
    /// rows', so that a total as of a day need not sum every day before it.
    ActiveMonth(NaiveDate),
}

/// Deltas collected for one transaction (or one rebuild), merged per row.
pub struct StatsBatch {
    timezone: chrono_tz::Tz,
    /// Which shard of the platform-wide daily rows this batch adds to.
    shard: i32,
    deltas: BTreeMap<RollupKey, Counts>,
    /// Whether a sum passed 64 bits: such a batch is never written (see [`CounterOverflow`]).
    overflowed: bool,
}

/// Shards of `stats_days`: concurrent writers pick different rows (see the migration).
pub const DAY_SHARDS: i32 = 16;

impl StatsBatch {
    pub fn new(timezone: chrono_tz::Tz) -> Self {
        use rand::Rng;
        Self {
            timezone,
            shard: rand::thread_rng().gen_range(0..DAY_SHARDS),
            deltas: BTreeMap::new(),
            overflowed: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.deltas.values().all(Counts::is_zero)
    }

    fn add(&mut self, key: RollupKey, counts: Counts) {
        if let RollupKey::Day(day) = key {
            let month = counts.totals();
            if !month.is_zero() {
                self.add_to(RollupKey::ActiveMonth(first_of_month(day)), &month);
            }
        }
        self.add_to(key, &counts);
    }

    fn add_to(&mut self, key: RollupKey, counts: &Counts) {
        if self
            .deltas
            .entry(key)
            .or_default()
            .checked_add(counts)
            .is_err()
        {
            self.overflowed = true;
        }
    }

    fn add_household(&mut self, household_id: String, day: NaiveDate, counts: Counts) {
        self.add(RollupKey::Day(day), counts);
        self.add(RollupKey::Household { household_id, day }, counts);
    }

    fn add_product(&mut self, product_id: String, day: NaiveDate, counts: Counts) {
        self.add(RollupKey::Day(day), counts);
        self.add(RollupKey::Product { product_id, day }, counts);
    }

    /// A household came onto the platform.
    pub fn household_joined(&mut self, event: HouseholdJoined) {
        let day = local_day(event.joined_at, self.timezone);
        let counts = Counts::of(&[
            (Metric::HouseholdsJoined, 1),
            (Metric::HouseholdsActive, i64::from(event.active)),
        ]);
        self.add_household(event.household_id, day, counts);
    }

    /// A household was suspended or reinstated: it leaves or rejoins the totals.
    pub fn household_status_changed(&mut self, event: HouseholdStatusChanged) {
        if event.was_active == event.is_active {
            return;
        }
        let day = local_day(event.joined_at, self.timezone);
        let counts = Counts::of(&[(
            Metric::HouseholdsActive,
            if event.is_active { 1 } else { -1 },
        )]);
        self.add_household(event.household_id, day, counts);
    }

    /// A product was listed.
    pub fn product_listed(&mut self, event: ProductListed) {
        let day = local_day(event.created_at, self.timezone);
        let counts = Counts::of(&[
            (Metric::ProductsListed, 1),
            (Metric::ProductsActive, i64::from(event.active)),
        ]);
        self.add_product(event.product_id, day, counts);
    }

    /// A product was archived or restored: it leaves or rejoins the totals.
    pub fn product_status_changed(&mut self, event: ProductStatusChanged) {
        if event.was_active == event.is_active {
            return;
        }
        let day = local_day(event.created_at, self.timezone);
        let counts = Counts::of(&[(Metric::ProductsActive, if event.is_active { 1 } else { -1 })]);
        self.add_product(event.product_id, day, counts);
    }

    /// An order was placed: it counts on the day it was placed.
    pub fn order_placed(&mut self, event: &OrderPlaced) {
        self.order(event, 1);
    }

    /// An order was cancelled: it stops counting on the day it was placed.
    pub fn order_cancelled(&mut self, event: &OrderPlaced) {
        self.order(event, -1);
    }

    fn order(&mut self, order: &OrderPlaced, sign: i64) {
        let day = local_day(order.placed_at, self.timezone);
        let export = order.exported;
        let exported = |grams: i64| if export { grams } else { 0 };
        let whole = Counts::of(&[
            (Metric::Orders, sign),
            (Metric::ValueVnd, sign * order.total_vnd),
            (Metric::ShippingFeesVnd, sign * order.shipping_vnd),
            (Metric::WeightGrams, sign * order.total_weight_grams),
            (
                Metric::ExportWeightGrams,
                sign * exported(order.total_weight_grams),
            ),
        ]);
        self.add_household(order.household_id.clone(), day, whole);
        let mut by_category: BTreeMap<&str, Counts> = BTreeMap::new();
        for item in &order.lines {
            let Some(grams) = item.unit_weight_grams.checked_mul(item.quantity) else {
                self.overflowed = true;
                return;
            };
            let line = Counts::of(&[
                (Metric::Orders, sign),
                (Metric::ValueVnd, sign * item.line_total_vnd),
                (Metric::WeightGrams, sign * grams),
                (Metric::ExportWeightGrams, sign * exported(grams)),
            ]);
            self.add(
                RollupKey::Product {
                    product_id: item.product_id.clone(),
                    day,
                },
                line,
            );
            if export {
                self.add(
                    RollupKey::Export {
                        product_id: item.product_id.clone(),
                        day,
                        country_code: order.country_code.clone(),
                    },
                    Counts::of(&[(Metric::ExportWeightGrams, sign * grams)]),
                );
            }
            let category = by_category.entry(item.category.as_str()).or_default();
            let mut amounts = line;
            amounts[Metric::Orders] = 0;
            if category.checked_add(&amounts).is_err() {
                self.overflowed = true;
            }
        }
        for (category, mut counts) in by_category {
            counts[Metric::Orders] = sign;
            self.add(
                RollupKey::Category {
                    household_id: order.household_id.clone(),
                    category: category.to_owned(),
                    day,
                },
                counts,
            );
        }
    }

    /// The books moved money for a household (commission earned, a payout made).
    pub fn money_booked(&mut self, event: MoneyBooked) {
        let day = local_day(event.booked_at, self.timezone);
        let counts = Counts::of(&[
            (Metric::CommissionVnd, event.commission_vnd),
            (Metric::PayoutsVnd, event.payout_vnd),
        ]);
        self.add_household(event.household_id, day, counts);
    }

    /// Product page views on a day (per product they are kept in `product_view_days`).
    pub fn views(&mut self, day: NaiveDate, count: i64) {
        self.add(RollupKey::Day(day), Counts::of(&[(Metric::Views, count)]));
    }

    /// Adds the deltas to the rollup tables, in key order so that two writers on PostgreSQL take
    /// row locks in the same order: a few rows as cached multi-row upserts (an order's in one
    /// PostgreSQL statement), many (imports) as column arrays on PostgreSQL and small multi-row
    /// upserts on SQLite.
    pub fn write(self, conn: &mut DbConnection) -> QueryResult<()> {
        if self.overflowed {
            return Err(CounterOverflow.into());
        }
        let rows: Vec<(RollupKey, Counts)> = self
            .deltas
            .into_iter()
            .filter(|(_, c)| !c.is_zero())
            .collect();
        let shard = self.shard;
        // Group by table (the key's variant); BTreeMap order already sorts variants together.
        let tables: Vec<&[(RollupKey, Counts)]> = rows
            .chunk_by(|(a, _), (b, _)| Table::of(a) == Table::of(b))
            .collect();
        let small = tables.iter().all(|t| t.len() <= sql::CACHED_ROWS);
        if matches!(conn, DbConnection::Postgres(_)) && small && tables.len() > 1 {
            return upsert_together(conn, &tables, shard);
        }
        for table in tables {
            let (insert, on_conflict) = upsert_clauses(&table[0].0);
            let columns = columns_of(table, shard);
            sql::execute_rows(conn, &columns, SQLITE_ROWS_PER_STATEMENT, |rows| {
                format!("{insert} {rows} {on_conflict}")
            })?;
        }
        Ok(())
    }

    /// Like [`write`](Self::write), but left for the transaction's commit where that can merge it
    /// with the rollups of the writes sharing the commit (SQLite's group commit, see
    /// [`crate::db::write_at_commit`]): for a request's own few rows, never for a rebuild.
    pub fn write_at_commit(self, conn: &mut DbConnection) -> QueryResult<()> {
        crate::db::write_at_commit(conn, self)
    }

    /// The rows this batch holds (for comparing a rebuild with what is stored).
    pub fn into_rows(self) -> BTreeMap<RollupKey, Counts> {
        self.deltas
            .into_iter()
            .filter(|(_, c)| !c.is_zero())
            .collect()
    }
}

impl CommitWrite for StatsBatch {
    fn absorb(&mut self, later: Box<dyn std::any::Any>) {
        if let Ok(later) = later.downcast::<StatsBatch>() {
            self.overflowed |= later.overflowed;
            for (key, counts) in later.deltas {
                self.add_to(key, &counts);
            }
        }
    }

    fn write(self: Box<Self>, conn: &mut DbConnection) -> QueryResult<()> {
        StatsBatch::write(*self, conn)
    }
}

/// The rollup tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Day,
    Household,
    Product,
    Export,
    Category,
    ActiveMonth,
}

impl Table {
    pub(crate) const ALL: [Table; 6] = [
        Table::Day,
        Table::Household,
        Table::Product,
        Table::Export,
        Table::Category,
        Table::ActiveMonth,
    ];

    fn of(key: &RollupKey) -> Table {
        match key {
            RollupKey::Day(_) => Table::Day,
            RollupKey::Household { .. } => Table::Household,
            RollupKey::Product { .. } => Table::Product,
            RollupKey::Export { .. } => Table::Export,
            RollupKey::Category { .. } => Table::Category,
            RollupKey::ActiveMonth(_) => Table::ActiveMonth,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Day => "stats_days",
            Table::Household => "stats_household_days",
            Table::Product => "stats_product_days",
            Table::Export => "stats_product_export_days",
            Table::Category => "stats_category_days",
            Table::ActiveMonth => "stats_active_months",
        }
    }

    /// The metrics the table keeps, each with its column: `stats_days` keeps every metric,
    /// `stats_active_months` every running total, the others the ones listed here.
    pub(crate) fn counters(self) -> Vec<(Metric, &'static str)> {
        use Metric::*;
        let named = |metrics: &[Metric]| -> Vec<(Metric, &'static str)> {
            metrics.iter().map(|m| (*m, m.column())).collect()
        };
        match self {
            Table::Day => named(&Metric::ALL),
            Table::ActiveMonth => {
                let totals: Vec<Metric> =
                    Metric::ALL.into_iter().filter(|m| m.is_total()).collect();
                named(&totals)
            }
            Table::Household => named(&[
                HouseholdsJoined,
                HouseholdsActive,
                Orders,
                ValueVnd,
                WeightGrams,
                ExportWeightGrams,
                ShippingFeesVnd,
                CommissionVnd,
                PayoutsVnd,
            ]),
            Table::Product => named(&[
                ProductsListed,
                ProductsActive,
                Orders,
                ValueVnd,
                WeightGrams,
                ExportWeightGrams,
            ]),
            // The export table keeps only the exported weight, in its `weight_grams`.
            Table::Export => vec![(ExportWeightGrams, "weight_grams")],
            Table::Category => named(&[Orders, ValueVnd, WeightGrams, ExportWeightGrams]),
        }
    }
}

enum KeyValue<'a> {
    Text(&'a str),
    Date(NaiveDate),
    Int(i32),
}

/// The key columns of the row of `key`, with their values.
fn key_values(key: &RollupKey, shard: i32) -> Vec<(&'static str, KeyValue<'_>)> {
    match key {
        RollupKey::Day(day) => vec![
            ("day", KeyValue::Date(*day)),
            ("shard", KeyValue::Int(shard)),
        ],
        RollupKey::Household { household_id, day } => vec![
            ("household_id", KeyValue::Text(household_id)),
            ("day", KeyValue::Date(*day)),
        ],
        RollupKey::Product { product_id, day } => vec![
            ("product_id", KeyValue::Text(product_id)),
            ("day", KeyValue::Date(*day)),
        ],
        RollupKey::Export {
            product_id,
            day,
            country_code,
        } => vec![
            ("product_id", KeyValue::Text(product_id)),
            ("day", KeyValue::Date(*day)),
            ("country_code", KeyValue::Text(country_code)),
        ],
        RollupKey::Category {
            household_id,
            category,
            day,
        } => vec![
            ("household_id", KeyValue::Text(household_id)),
            ("category", KeyValue::Text(category)),
            ("day", KeyValue::Date(*day)),
        ],
        RollupKey::ActiveMonth(month) => vec![("month", KeyValue::Date(*month))],
    }
}

pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// Rows per multi-row upsert on SQLite (in-process, it slows down on large ones; measured with
/// `nongsan demo`). On PostgreSQL a few rows go in one such statement, more as column arrays.
const SQLITE_ROWS_PER_STATEMENT: usize = 20;

/// `INSERT INTO t (keys…, counters…)` and `ON CONFLICT (keys) DO UPDATE SET c = t.c + excluded.c`
/// for the table of `key`: every upsert of a delta, whatever form its rows take.
fn upsert_clauses(key: &RollupKey) -> (String, String) {
    let table = Table::of(key);
    let (table, keys, columns) = (table.name(), key_values(key, 0), table.counters());
    let key_names: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
    let names: Vec<&str> = key_names
        .iter()
        .copied()
        .chain(columns.iter().map(|(_, c)| *c))
        .collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|(_, c)| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    (
        format!("INSERT INTO {table} ({})", names.join(", ")),
        format!(
            "ON CONFLICT ({}) DO UPDATE SET {}",
            key_names.join(", "),
            updates.join(", ")
        ),
    )
}

/// The rows of one table as columns: its keys, then its counters.
fn columns_of<'a>(rows: &'a [(RollupKey, Counts)], shard: i32) -> Vec<ArrayColumn<'a>> {
    let first_keys = key_values(&rows[0].0, shard);
    let counters = Table::of(&rows[0].0).counters();
    let mut keys: Vec<ArrayColumn> = first_keys
        .iter()
        .map(|(_, value)| match value {
            KeyValue::Text(_) => ArrayColumn::Text(Vec::with_capacity(rows.len())),
            KeyValue::Date(_) => ArrayColumn::Date(Vec::with_capacity(rows.len())),
            KeyValue::Int(_) => ArrayColumn::Integer(Vec::with_capacity(rows.len())),
        })
        .collect();
    let mut counts: Vec<Vec<i64>> = vec![Vec::with_capacity(rows.len()); counters.len()];
    for (key, row_counts) in rows {
        for (column, (_, value)) in keys.iter_mut().zip(key_values(key, shard)) {
            match (column, value) {
                (ArrayColumn::Text(c), KeyValue::Text(v)) => c.push(v),
                (ArrayColumn::Date(c), KeyValue::Date(v)) => c.push(v),
                (ArrayColumn::Integer(c), KeyValue::Int(v)) => c.push(v),
                _ => unreachable!("one table's keys have one shape"),
            }
        }
        for (column, (metric, _)) in counts.iter_mut().zip(&counters) {
            column.push(row_counts[*metric]);
        }
    }
    keys.extend(counts.into_iter().map(ArrayColumn::BigInt));
    keys
}

/// The upserts of a few tables (an order's rollups) in one PostgreSQL statement, one round trip:
/// the first table's upsert is the statement, the others are data-modifying `WITH` clauses,
/// which PostgreSQL runs after it, in order.
fn upsert_together(
    conn: &mut DbConnection,
    tables: &[&[(RollupKey, Counts)]],
    shard: i32,
) -> QueryResult<()> {
    let mut values = Vec::new();
    let texts: Vec<String> = tables
        .iter()
        .map(|rows| {
            let (insert, on_conflict) = upsert_clauses(&rows[0].0);
            let rows = sql::values_of(&columns_of(rows, shard), &mut values);
            format!("{insert} {rows} {on_conflict}")
        })
        .collect();
    let clauses: Vec<String> = texts[1..]
        .iter()
        .enumerate()
        .map(|(i, text)| format!("u{i} AS ({text})"))
        .collect();
    let text = format!("WITH {} {}", clauses.join(", "), texts[0]);
    Sql::with_values(text, values).execute(conn).map(|_| ())
}

/// Replaces every rollup with a recomputation from the raw tables (call inside a write transaction).
pub fn rebuild(conn: &mut DbConnection, timezone: chrono_tz::Tz) -> QueryResult<()> {
    let batch = super::recompute::recompute(conn, timezone)?;
    for table in Table::ALL {
        diesel::sql_query(format!("DELETE FROM {}", table.name())).execute(conn)?;
    }
    batch.write(conn)
}

#[derive(QueryableByName)]
struct StoredRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    key1: String,
    #[diesel(sql_type = Text)]
    key2: String,
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(embed)]
    counts: Counts,
}

/// Every rollup row in one shape: kind, up to two text keys, the day and every metric (zero for
/// those a table does not keep; the platform's daily shards summed).
fn stored_sql() -> String {
    Table::ALL
        .into_iter()
        .map(|table| {
            let counters = table.counters();
            let column = |m: Metric| counters.iter().find(|(c, _)| *c == m).map(|(_, col)| *col);
            let (kind, key1, key2, day) = match table {
                Table::Day => ("day", "''", "''", "day"),
                Table::Household => ("household", "household_id", "''", "day"),
                Table::Product => ("product", "product_id", "''", "day"),
                Table::Export => ("export", "product_id", "country_code", "day"),
                Table::Category => ("category", "household_id", "category", "day"),
                Table::ActiveMonth => ("month", "''", "''", "month"),
            };
            let (counts, group) = if table == Table::Day {
                (
                    select_counters(|m| column(m).map(|c| format!("SUM({c})"))),
                    " GROUP BY day",
                )
            } else {
                (select_counters(|m| column(m).map(str::to_owned)), "")
            };
            format!(
                "SELECT '{kind}' AS kind, {key1} AS key1, {key2} AS key2, {day} AS day, {counts} FROM {}{group}",
                table.name()
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Every stored rollup row, keyed as a batch keys them (zero rows left out).
pub fn stored(conn: &mut DbConnection) -> QueryResult<BTreeMap<RollupKey, Counts>> {
    let rows: Vec<StoredRow> = Sql::new(stored_sql()).load(conn)?;
    let mut stored = BTreeMap::new();
    for r in rows {
        let key = match r.kind.as_str() {
            "day" => RollupKey::Day(r.day),
            "household" => RollupKey::Household {
                household_id: r.key1,
                day: r.day,
            },
            "product" => RollupKey::Product {
                product_id: r.key1,
                day: r.day,
            },
            "export" => RollupKey::Export {
                product_id: r.key1,
                day: r.day,
                country_code: r.key2,
            },
            "month" => RollupKey::ActiveMonth(r.day),
            _ => RollupKey::Category {
                household_id: r.key1,
                category: r.key2,
                day: r.day,
            },
        };
        if !r.counts.is_zero() {
            stored.insert(key, r.counts);
        }
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;
    use crate::stats::events::OrderLine;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn order(exported: bool) -> OrderPlaced {
        let line = |product_id: &str, category: &str| OrderLine {
            product_id: product_id.to_owned(),
            category: category.to_owned(),
            quantity: 2,
            unit_weight_grams: 500,
            line_total_vnd: 100_000,
        };
        OrderPlaced {
            household_id: "h1".to_owned(),
            // 18:00 UTC is the next day in Vietnam.
            placed_at: at("2024-03-31 18:00:00"),
            country_code: if exported { "JP" } else { "VN" }.to_owned(),
            exported,
            total_vnd: 300_000,
            shipping_vnd: 0,
            total_weight_grams: 3000,
            lines: vec![
                line("p1", "fruit"),
                line("p2", "fruit"),
                line("p3", "tea_coffee"),
            ],
        }
    }

    fn batch() -> StatsBatch {
        StatsBatch::new(chrono_tz::Asia::Ho_Chi_Minh)
    }

    #[test]
    fn an_order_counts_per_day_household_product_category_and_export() {
        let mut b = batch();
        b.order_placed(&order(true));
        let rows = b.into_rows();
        let day = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap();
        let whole = &rows[&RollupKey::Day(day)];
        assert_eq!(
            (
                whole[Metric::Orders],
                whole[Metric::ValueVnd],
                whole[Metric::WeightGrams]
            ),
            (1, 300_000, 3000)
        );
        assert_eq!(whole[Metric::ExportWeightGrams], 3000);
        let fruit = &rows[&RollupKey::Category {
            household_id: "h1".to_owned(),
            category: "fruit".to_owned(),
            day,
        }];
        assert_eq!(
            (fruit[Metric::Orders], fruit[Metric::WeightGrams]),
            (1, 2000)
        );
        let export = &rows[&RollupKey::Export {
            product_id: "p1".to_owned(),
            day,
            country_code: "JP".to_owned(),
        }];
        assert_eq!(*export, Counts::of(&[(Metric::ExportWeightGrams, 1000)]));
        assert!(!rows.keys().any(|k| matches!(k, RollupKey::ActiveMonth(_))));
    }

    #[test]
    fn a_cancelled_order_takes_back_what_it_added() {
        let mut b = batch();
        b.order_placed(&order(false));
        b.order_cancelled(&order(false));
        assert!(b.is_empty());
        assert!(b.into_rows().is_empty());
    }

    #[test]
    fn running_totals_are_mirrored_per_month() {
        let mut b = batch();
        b.household_joined(HouseholdJoined {
            household_id: "h1".to_owned(),
            joined_at: at("2024-02-10 00:00:00"),
            active: true,
        });
        let rows = b.into_rows();
        let month = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
        assert_eq!(
            rows[&RollupKey::ActiveMonth(month)],
            Counts::of(&[(Metric::HouseholdsActive, 1)])
        );
    }

    #[test]
    fn a_line_weight_past_64_bits_is_refused() {
        let mut b = batch();
        let mut big = order(false);
        big.lines[0].unit_weight_grams = i64::MAX;
        b.order_placed(&big);
        assert!(b.overflowed);
    }
}
