//! Daily rollups behind the reports. Every write that changes a metric adds its deltas here, in
//! its own transaction; `rebuild` recomputes the same tables from the raw rows through the very
//! same functions, so the two cannot drift apart in how they count.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use crate::db::sql::{self, ArrayColumn, ArraySql, Sql, Value};
use crate::db::{CommitWrite, DbConnection};
use crate::households::model::STATUS_ACTIVE as HOUSEHOLD_ACTIVE;
use crate::households::repo::Household;
use crate::orders::model::{CANCELLED, HOME_COUNTRY};
use crate::orders::repo::{Order, OrderItem};
use crate::products::model::STATUS_ARCHIVED;
use crate::products::repo::Product;
use crate::time::local_day;

/// The counters of one rollup row; which of them a table keeps depends on the table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub households_joined: i64,
    pub households_active: i64,
    pub products_listed: i64,
    pub products_active: i64,
    pub orders: i64,
    pub value_vnd: i64,
    pub weight_grams: i64,
    pub export_weight_grams: i64,
    pub views: i64,
}

/// A sum of counters that does not fit in 64 bits: refused, never wrapped or capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterOverflow;

impl From<CounterOverflow> for diesel::result::Error {
    fn from(_: CounterOverflow) -> Self {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(crate::error::COUNTER_OVERFLOW.to_owned()),
        )
    }
}

impl From<CounterOverflow> for crate::error::AppError {
    fn from(_: CounterOverflow) -> Self {
        crate::error::AppError::value_out_of_range()
    }
}

impl Counts {
    fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// Adds `other`, or fails (leaving `self` as it was) when a counter would pass 64 bits.
    pub fn checked_add(&mut self, other: &Counts) -> Result<(), CounterOverflow> {
        let sum = |a: i64, b: i64| a.checked_add(b).ok_or(CounterOverflow);
        *self = Counts {
            households_joined: sum(self.households_joined, other.households_joined)?,
            households_active: sum(self.households_active, other.households_active)?,
            products_listed: sum(self.products_listed, other.products_listed)?,
            products_active: sum(self.products_active, other.products_active)?,
            orders: sum(self.orders, other.orders)?,
            value_vnd: sum(self.value_vnd, other.value_vnd)?,
            weight_grams: sum(self.weight_grams, other.weight_grams)?,
            export_weight_grams: sum(self.export_weight_grams, other.export_weight_grams)?,
            views: sum(self.views, other.views)?,
        };
        Ok(())
    }
}

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
    /// The platform's `*_active` deltas per month (keyed by its first day), mirroring the
    /// day rows', so that a total as of a day need not sum every day before it.
    ActiveMonth(NaiveDate),
}

/// Deltas collected for one transaction (or one rebuild), merged per row.
pub struct RollupBatch {
    timezone: chrono_tz::Tz,
    /// Which shard of the platform-wide daily rows this batch adds to.
    shard: i32,
    deltas: BTreeMap<RollupKey, Counts>,
    /// Whether a sum passed 64 bits: such a batch is never written (see [`CounterOverflow`]).
    overflowed: bool,
}

/// Shards of `stats_days`: concurrent writers pick different rows (see the migration).
pub const DAY_SHARDS: i32 = 16;

impl RollupBatch {
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
        if let RollupKey::Day(day) = key
            && (counts.households_active != 0 || counts.products_active != 0)
        {
            let month = Counts {
                households_active: counts.households_active,
                products_active: counts.products_active,
                ..Counts::default()
            };
            self.add_to(RollupKey::ActiveMonth(first_of_month(day)), &month);
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

    /// A household came onto the platform.
    pub fn household_joined(&mut self, household: &Household) {
        let day = local_day(household.joined_at, self.timezone);
        let counts = Counts {
            households_joined: 1,
            households_active: i64::from(household.status == HOUSEHOLD_ACTIVE),
            ..Counts::default()
        };
        self.add(RollupKey::Day(day), counts);
        self.add(
            RollupKey::Household {
                household_id: household.id.clone(),
                day,
            },
            counts,
        );
    }

    /// A household was suspended or reinstated: it leaves or rejoins the totals.
    pub fn household_status_changed(&mut self, household: &Household, new_status: &str) {
        let was = household.status == HOUSEHOLD_ACTIVE;
        let is = new_status == HOUSEHOLD_ACTIVE;
        if was == is {
            return;
        }
        let day = local_day(household.joined_at, self.timezone);
        let counts = Counts {
            households_active: if is { 1 } else { -1 },
            ..Counts::default()
        };
        self.add(RollupKey::Day(day), counts);
        self.add(
            RollupKey::Household {
                household_id: household.id.clone(),
                day,
            },
            counts,
        );
    }

    /// A product was listed.
    pub fn product_listed(&mut self, product: &Product) {
        let day = local_day(product.created_at, self.timezone);
        let counts = Counts {
            products_listed: 1,
            products_active: i64::from(product.status != STATUS_ARCHIVED),
            ..Counts::default()
        };
        self.add(RollupKey::Day(day), counts);
        self.add(
            RollupKey::Product {
                product_id: product.id.clone(),
                day,
            },
            counts,
        );
    }

    /// A product was archived or restored: it leaves or rejoins the totals.
    pub fn product_status_changed(&mut self, product: &Product, new_status: &str) {
        let was = product.status != STATUS_ARCHIVED;
        let is = new_status != STATUS_ARCHIVED;
        if was == is {
            return;
        }
        let day = local_day(product.created_at, self.timezone);
        let counts = Counts {
            products_active: if is { 1 } else { -1 },
            ..Counts::default()
        };
        self.add(RollupKey::Day(day), counts);
        self.add(
            RollupKey::Product {
                product_id: product.id.clone(),
                day,
            },
            counts,
        );
    }

    /// An order counts (`sign` 1) when placed and stops counting (`sign` -1) when cancelled.
    /// Cancelled orders never count, so a cancelled order passed with sign 1 adds nothing.
    pub fn order(&mut self, order: &Order, items: &[OrderItem], sign: i64) {
        if sign > 0 && order.status == CANCELLED {
            return;
        }
        let day = local_day(order.placed_at, self.timezone);
        let export = order.country_code != HOME_COUNTRY;
        let weight_of = |item: &OrderItem| item.unit_weight_grams.checked_mul(item.quantity);
        let exported = |grams: i64| if export { grams } else { 0 };
        let whole = Counts {
            orders: sign,
            value_vnd: sign * order.total_vnd,
            weight_grams: sign * order.total_weight_grams,
            export_weight_grams: sign * exported(order.total_weight_grams),
            ..Counts::default()
        };
        self.add(RollupKey::Day(day), whole);
        self.add(
            RollupKey::Household {
                household_id: order.household_id.clone(),
                day,
            },
            whole,
        );
        let mut by_category: BTreeMap<&str, Counts> = BTreeMap::new();
        for item in items {
            let Some(grams) = weight_of(item) else {
                self.overflowed = true;
                return;
            };
            let line = Counts {
                orders: sign,
                value_vnd: sign * item.line_total_vnd,
                weight_grams: sign * grams,
                export_weight_grams: sign * exported(grams),
                ..Counts::default()
            };
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
                    Counts {
                        export_weight_grams: sign * grams,
                        ..Counts::default()
                    },
                );
            }
            let category = by_category
                .entry(item.product_category.as_str())
                .or_default();
            let amounts = Counts { orders: 0, ..line };
            if category.checked_add(&amounts).is_err() {
                self.overflowed = true;
            }
        }
        for (category, mut counts) in by_category {
            counts.orders = sign;
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

    /// Product page views on a day (per product they are kept in `product_view_days`).
    pub fn views(&mut self, day: NaiveDate, count: i64) {
        self.add(
            RollupKey::Day(day),
            Counts {
                views: count,
                ..Counts::default()
            },
        );
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
            .chunk_by(|(a, _), (b, _)| table_of(a, 0).0 == table_of(b, 0).0)
            .collect();
        let small = tables.iter().all(|t| t.len() <= sql::CACHED_ROWS);
        if matches!(conn, DbConnection::Postgres(_)) && small && tables.len() > 1 {
            return upsert_together(conn, &tables, shard);
        }
        for table in tables {
            match conn {
                DbConnection::Postgres(pg) if table.len() > sql::CACHED_ROWS => {
                    for chunk in table.chunks(sql::ARRAY_ROWS_PER_STATEMENT) {
                        upsert_columns(pg, chunk, shard)?;
                    }
                }
                _ => {
                    for chunk in table.chunks(SQLITE_ROWS_PER_STATEMENT) {
                        upsert(conn, chunk, shard)?;
                    }
                }
            }
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

impl CommitWrite for RollupBatch {
    fn absorb(&mut self, later: Box<dyn std::any::Any>) {
        if let Ok(later) = later.downcast::<RollupBatch>() {
            self.overflowed |= later.overflowed;
            for (key, counts) in later.deltas {
                self.add_to(key, &counts);
            }
        }
    }

    fn write(self: Box<Self>, conn: &mut DbConnection) -> QueryResult<()> {
        RollupBatch::write(*self, conn)
    }
}

enum KeyValue<'a> {
    Text(&'a str),
    Date(NaiveDate),
    Int(i32),
}

const DAY_COLUMNS: [&str; 9] = [
    "households_joined",
    "households_active",
    "products_listed",
    "products_active",
    "orders",
    "value_vnd",
    "weight_grams",
    "export_weight_grams",
    "views",
];
const HOUSEHOLD_COLUMNS: [&str; 6] = [
    "households_joined",
    "households_active",
    "orders",
    "value_vnd",
    "weight_grams",
    "export_weight_grams",
];
const PRODUCT_COLUMNS: [&str; 6] = [
    "products_listed",
    "products_active",
    "orders",
    "value_vnd",
    "weight_grams",
    "export_weight_grams",
];
const EXPORT_COLUMNS: [&str; 1] = ["weight_grams"];
const ACTIVE_MONTH_COLUMNS: [&str; 2] = ["households_active", "products_active"];
const CATEGORY_COLUMNS: [&str; 4] = ["orders", "value_vnd", "weight_grams", "export_weight_grams"];

fn value_of(counts: &Counts, column: &str, export_table: bool) -> i64 {
    match column {
        "households_joined" => counts.households_joined,
        "households_active" => counts.households_active,
        "products_listed" => counts.products_listed,
        "products_active" => counts.products_active,
        "orders" => counts.orders,
        "value_vnd" => counts.value_vnd,
        // The export table keeps only the exported weight, in its `weight_grams`.
        "weight_grams" if export_table => counts.export_weight_grams,
        "weight_grams" => counts.weight_grams,
        "export_weight_grams" => counts.export_weight_grams,
        "views" => counts.views,
        other => unreachable!("unknown rollup column {other}"),
    }
}

fn table_of(
    key: &RollupKey,
    shard: i32,
) -> (
    &'static str,
    Vec<(&'static str, KeyValue<'_>)>,
    &'static [&'static str],
) {
    match key {
        RollupKey::Day(day) => (
            "stats_days",
            vec![
                ("day", KeyValue::Date(*day)),
                ("shard", KeyValue::Int(shard)),
            ],
            &DAY_COLUMNS,
        ),
        RollupKey::Household { household_id, day } => (
            "stats_household_days",
            vec![
                ("household_id", KeyValue::Text(household_id)),
                ("day", KeyValue::Date(*day)),
            ],
            &HOUSEHOLD_COLUMNS,
        ),
        RollupKey::Product { product_id, day } => (
            "stats_product_days",
            vec![
                ("product_id", KeyValue::Text(product_id)),
                ("day", KeyValue::Date(*day)),
            ],
            &PRODUCT_COLUMNS,
        ),
        RollupKey::Export {
            product_id,
            day,
            country_code,
        } => (
            "stats_product_export_days",
            vec![
                ("product_id", KeyValue::Text(product_id)),
                ("day", KeyValue::Date(*day)),
                ("country_code", KeyValue::Text(country_code)),
            ],
            &EXPORT_COLUMNS,
        ),
        RollupKey::Category {
            household_id,
            category,
            day,
        } => (
            "stats_category_days",
            vec![
                ("household_id", KeyValue::Text(household_id)),
                ("category", KeyValue::Text(category)),
                ("day", KeyValue::Date(*day)),
            ],
            &CATEGORY_COLUMNS,
        ),
        RollupKey::ActiveMonth(month) => (
            "stats_active_months",
            vec![("month", KeyValue::Date(*month))],
            &ACTIVE_MONTH_COLUMNS,
        ),
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
    let (table, keys, columns) = table_of(key, 0);
    let key_names: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
    let names: Vec<&str> = key_names
        .iter()
        .copied()
        .chain(columns.iter().copied())
        .collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
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

/// The upsert of rows of one table as a multi-row `VALUES`, the same SQL on both databases, its
/// placeholders numbered after the `values` it pushes them onto. Keys are unique within a batch.
fn upsert_text<'a>(
    rows: &'a [(RollupKey, Counts)],
    shard: i32,
    values: &mut Vec<Value<'a>>,
) -> String {
    let (_, keys, columns) = table_of(&rows[0].0, shard);
    let export_table = matches!(rows[0].0, RollupKey::Export { .. });
    let (insert, on_conflict) = upsert_clauses(&rows[0].0);
    let text = format!(
        "{insert} VALUES {} {on_conflict}",
        sql::value_rows(values.len() + 1, rows.len(), keys.len() + columns.len()),
    );
    for (key, counts) in rows {
        let (_, keys, _) = table_of(key, shard);
        for (_, value) in keys {
            values.push(match value {
                KeyValue::Text(text) => text.into(),
                KeyValue::Date(day) => day.into(),
                KeyValue::Int(n) => n.into(),
            });
        }
        for column in columns {
            values.push(value_of(counts, column, export_table).into());
        }
    }
    text
}

/// The upsert of rows of one table as PostgreSQL column arrays: one statement, one text, however
/// many rows (an import's hundreds of thousands).
fn upsert_columns(
    pg: &mut diesel::PgConnection,
    rows: &[(RollupKey, Counts)],
    shard: i32,
) -> QueryResult<usize> {
    let (_, first_keys, counters) = table_of(&rows[0].0, shard);
    let export_table = matches!(rows[0].0, RollupKey::Export { .. });
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
        for (column, (_, value)) in keys.iter_mut().zip(table_of(key, shard).1) {
            match (column, value) {
                (ArrayColumn::Text(c), KeyValue::Text(v)) => c.push(v),
                (ArrayColumn::Date(c), KeyValue::Date(v)) => c.push(v),
                (ArrayColumn::Integer(c), KeyValue::Int(v)) => c.push(v),
                _ => unreachable!("one table's keys have one shape"),
            }
        }
        for (column, name) in counts.iter_mut().zip(counters) {
            column.push(value_of(row_counts, name, export_table));
        }
    }
    keys.extend(counts.into_iter().map(ArrayColumn::BigInt));
    let (insert, on_conflict) = upsert_clauses(&rows[0].0);
    let text = format!(
        "{insert} SELECT * FROM {} {on_conflict}",
        sql::unnest(&keys)
    );
    ArraySql::new(text, keys).execute(pg)
}

fn upsert(conn: &mut DbConnection, rows: &[(RollupKey, Counts)], shard: i32) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut values = Vec::new();
    let text = upsert_text(rows, shard, &mut values);
    Sql::with_values(text, values)
        .cached_if(rows.len() <= sql::CACHED_ROWS)
        .execute(conn)
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
        .map(|rows| upsert_text(rows, shard, &mut values))
        .collect();
    let clauses: Vec<String> = texts[1..]
        .iter()
        .enumerate()
        .map(|(i, text)| format!("u{i} AS ({text})"))
        .collect();
    let text = format!("WITH {} {}", clauses.join(", "), texts[0]);
    Sql::with_values(text, values).execute(conn).map(|_| ())
}

/// Recomputes every rollup from the raw tables into a batch (nothing is written).
pub fn recompute(conn: &mut DbConnection, timezone: chrono_tz::Tz) -> QueryResult<RollupBatch> {
    use crate::db::schema::{households, order_items, orders, product_view_days, products};
    let mut batch = RollupBatch::new(timezone);
    for household in households::table
        .select(Household::as_select())
        .load(conn)?
    {
        batch.household_joined(&household);
    }
    for product in products::table.select(Product::as_select()).load(conn)? {
        batch.product_listed(&product);
    }
    // Orders in pages, each with its lines, so memory stays bounded by the page.
    let mut after = String::new();
    loop {
        let page: Vec<Order> = orders::table
            .filter(orders::id.gt(&after))
            .filter(orders::status.ne(CANCELLED))
            .order(orders::id)
            .limit(5000)
            .select(Order::as_select())
            .load(conn)?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        let ids: Vec<String> = page.iter().map(|o| o.id.clone()).collect();
        let mut lines: BTreeMap<String, Vec<OrderItem>> = BTreeMap::new();
        for item in order_items::table
            .filter(order_items::order_id.eq_any(&ids))
            .select(OrderItem::as_select())
            .load(conn)?
        {
            lines.entry(item.order_id.clone()).or_default().push(item);
        }
        for order in &page {
            batch.order(
                order,
                lines.get(&order.id).map(Vec::as_slice).unwrap_or(&[]),
                1,
            );
        }
    }
    let views: Vec<(NaiveDate, i64)> = product_view_days::table
        .select((product_view_days::day, product_view_days::views))
        .load(conn)?;
    for (day, count) in views {
        batch.views(day, count);
    }
    Ok(batch)
}

/// Replaces every rollup with a recomputation from the raw tables (call inside a write transaction).
pub fn rebuild(conn: &mut DbConnection, timezone: chrono_tz::Tz) -> QueryResult<()> {
    let batch = recompute(conn, timezone)?;
    for table in [
        "stats_days",
        "stats_household_days",
        "stats_product_days",
        "stats_product_export_days",
        "stats_category_days",
        "stats_active_months",
    ] {
        diesel::sql_query(format!("DELETE FROM {table}")).execute(conn)?;
    }
    batch.write(conn)
}

/// The nine counter columns `c1`..`c9` that every rollup query returns, in `Counts` order
/// (embedded in each query's row type).
#[derive(Clone, Copy, QueryableByName)]
pub struct CounterColumns {
    #[diesel(sql_type = BigInt)]
    c1: i64,
    #[diesel(sql_type = BigInt)]
    c2: i64,
    #[diesel(sql_type = BigInt)]
    c3: i64,
    #[diesel(sql_type = BigInt)]
    c4: i64,
    #[diesel(sql_type = BigInt)]
    c5: i64,
    #[diesel(sql_type = BigInt)]
    c6: i64,
    #[diesel(sql_type = BigInt)]
    c7: i64,
    #[diesel(sql_type = BigInt)]
    c8: i64,
    #[diesel(sql_type = BigInt)]
    c9: i64,
}

impl From<CounterColumns> for Counts {
    fn from(c: CounterColumns) -> Counts {
        Counts {
            households_joined: c.c1,
            households_active: c.c2,
            products_listed: c.c3,
            products_active: c.c4,
            orders: c.c5,
            value_vnd: c.c6,
            weight_grams: c.c7,
            export_weight_grams: c.c8,
            views: c.c9,
        }
    }
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
    counters: CounterColumns,
}

/// Every stored rollup row, keyed as a batch keys them (zero rows left out).
pub fn stored(conn: &mut DbConnection) -> QueryResult<BTreeMap<RollupKey, Counts>> {
    let rows: Vec<StoredRow> = Sql::new(include_str!("sql/stored_rollups.sql")).load(conn)?;
    let mut stored = BTreeMap::new();
    for r in rows {
        // The SQL returns zero for the counters a table does not keep.
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
        let counts = Counts::from(r.counters);
        if !counts.is_zero() {
            stored.insert(key, counts);
        }
    }
    Ok(stored)
}
