//! The reading the reports do over the rollups (and, for the products report, over the products
//! and their view days). The counters every query returns are named after [`Metric::column`] and
//! generated from [`Metric::ALL`]; the SQL in `sql/*.sql` has them as `{counters}`. The only text
//! spliced into the SQL comes from fixed lists here, never from a request.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use super::batch::{Table, first_of_month};
use super::metric::{Counts, Metric, select_counters};
use crate::db::DbConnection;
use crate::db::sql::Sql;

/// A period of days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(embed)]
    counts: Counts,
}

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(embed)]
    counts: Counts,
}

/// Every metric summed over the grouped rows of `alias` (whose columns are `counters`): flows over
/// the days from `$1`, running totals over every day selected (up to the period's end).
fn grouped_counters(alias: &str, counters: &[(Metric, &str)]) -> String {
    select_counters(|m| {
        let (_, column) = counters.iter().find(|(c, _)| *c == m)?;
        Some(if m.is_total() {
            format!("COALESCE(SUM({alias}.{column}), 0)")
        } else {
            format!(
                "COALESCE(SUM(CASE WHEN {alias}.day >= $1 THEN {alias}.{column} ELSE 0 END), 0)"
            )
        })
    })
}

static DAY_TOTALS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT day, {} FROM stats_days WHERE day <= $1 GROUP BY day ORDER BY day",
        select_counters(|m| Some(format!("SUM({})", m.column())))
    )
});

/// The platform's rollup rows up to `until` (shards summed), oldest first (at most one per day).
pub fn day_totals(
    conn: &mut DbConnection,
    until: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, Counts)>> {
    let rows: Vec<DayRow> = Sql::new(DAY_TOTALS.as_str()).bind(until).load(conn)?;
    Ok(rows.into_iter().map(|r| (r.day, r.counts)).collect())
}

#[derive(QueryableByName)]
struct TotalsRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    which: i32,
    #[diesel(embed)]
    counts: Counts,
}

/// The platform's counters for a period (`$1..$2`) and the compared one (`$4..$5`), one row each
/// (`which` 0 and 1): flows summed over the period's days, and the running totals as of its end:
/// the months before the end's month (`$3` and `$6`, its first day) plus that month's days.
/// Bounded by the number of days in the period and of months on record, whatever the amount of
/// data.
static PERIOD_TOTALS: LazyLock<String> = LazyLock::new(|| {
    let sum = |m: Metric| {
        format!(
            "CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}",
            c = m.column()
        )
    };
    let list = |total: bool, f: &dyn Fn(Metric) -> String| {
        Metric::ALL
            .into_iter()
            .filter(|m| m.is_total() == total)
            .map(f)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let flows = list(false, &sum);
    let totals = list(true, &sum);
    let total_columns = list(true, &|m| m.column().to_owned());
    let months = Table::ActiveMonth.name();
    let part = |which: i32, from: &str, to: &str, month: &str| {
        format!(
            "SELECT {which} AS which, f.*, a.* \
             FROM (SELECT {flows} FROM stats_days WHERE day >= {from} AND day <= {to}) f, \
             (SELECT {totals} FROM (SELECT {total_columns} FROM {months} WHERE month < {month} \
             UNION ALL SELECT {total_columns} FROM stats_days WHERE day >= {month} AND day <= {to}) t) a"
        )
    };
    format!(
        "{} UNION ALL {}",
        part(0, "$1", "$2", "$3"),
        part(1, "$4", "$5", "$6")
    )
});

/// The platform's counters of a period and of the compared one, summed by the database in one
/// round trip.
pub fn period_totals(
    conn: &mut DbConnection,
    period: Days,
    compared: Option<Days>,
) -> QueryResult<(Counts, Option<Counts>)> {
    let other = compared.unwrap_or(period);
    let rows: Vec<TotalsRow> = Sql::new(PERIOD_TOTALS.as_str())
        .bind(period.from)
        .bind(period.to)
        .bind(first_of_month(period.to))
        .bind(other.from)
        .bind(other.to)
        .bind(first_of_month(other.to))
        .load(conn)?;
    let of = |which: i32| {
        rows.iter()
            .find(|r| r.which == which)
            .map(|r| r.counts)
            .unwrap_or_default()
    };
    Ok((of(0), compared.map(|_| of(1))))
}

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// The household's province on the 2008 map.
    Province,
    /// The household's province on the current map.
    CurrentProvince,
    Category,
    Household,
}

fn run_grouped(
    conn: &mut DbConnection,
    sql: String,
    period: Days,
    into: &mut HashMap<String, Counts>,
) -> QueryResult<()> {
    let rows: Vec<GroupRow> = Sql::new(sql).bind(period.from).bind(period.to).load(conn)?;
    for r in rows {
        into.entry(r.key).or_default().checked_add(&r.counts)?;
    }
    Ok(())
}

/// Every counter of a period per group: flows over the period, `*_active` summed up to its end.
pub fn grouped(
    conn: &mut DbConnection,
    grouping: Grouping,
    period: Days,
) -> QueryResult<HashMap<String, Counts>> {
    let mut groups = HashMap::new();
    let households = include_str!("sql/households_by.sql").replace(
        "{counters}",
        &grouped_counters("s", &Table::Household.counters()),
    );
    // Orders are counted once, from the households' rows: the products' rows add the rest.
    let per_household = Table::Household.counters();
    let per_product: Vec<(Metric, &str)> = Table::Product
        .counters()
        .into_iter()
        .filter(|(m, _)| !per_household.iter().any(|(h, _)| h == m))
        .collect();
    let products = include_str!("sql/products_by.sql")
        .replace("{counters}", &grouped_counters("s", &per_product));
    let views = include_str!("sql/views_by.sql").replace(
        "{counters}",
        &grouped_counters("v", &[(Metric::Views, "views")]),
    );
    match grouping {
        Grouping::Province | Grouping::CurrentProvince | Grouping::Household => {
            let key = match grouping {
                Grouping::Province => "h.province_code",
                Grouping::CurrentProvince => "h.current_province_code",
                _ => "h.id",
            };
            run_grouped(
                conn,
                households.replace("{key}", key).replace("{join}", ""),
                period,
                &mut groups,
            )?;
            run_grouped(conn, products.replace("{key}", key), period, &mut groups)?;
            run_grouped(conn, views.replace("{key}", key), period, &mut groups)?;
        }
        Grouping::Category => {
            // A household counts in each category it lists products in.
            let join = "JOIN (SELECT DISTINCT household_id, category FROM products) hc ON hc.household_id = h.id";
            let sql = households
                .replace("{key}", "hc.category")
                .replace("{join}", join);
            let mut household_part = HashMap::new();
            run_grouped(conn, sql, period, &mut household_part)?;
            for (key, c) in household_part {
                // Orders by category come from the order lines' categories, not from households.
                let households = Counts::of(&[
                    (Metric::HouseholdsJoined, c[Metric::HouseholdsJoined]),
                    (Metric::HouseholdsActive, c[Metric::HouseholdsActive]),
                ]);
                groups.entry(key).or_default().checked_add(&households)?;
            }
            run_grouped(
                conn,
                products.replace("{key}", "p.category"),
                period,
                &mut groups,
            )?;
            run_grouped(
                conn,
                views.replace("{key}", "p.category"),
                period,
                &mut groups,
            )?;
            run_grouped(
                conn,
                include_str!("sql/category_orders.sql").replace(
                    "{counters}",
                    &grouped_counters("s", &Table::Category.counters()),
                ),
                period,
                &mut groups,
            )?;
        }
    }
    Ok(groups)
}

/// Filters of the products report.
#[derive(Debug, Default, Clone)]
pub struct ProductReportFilter {
    /// `LIKE` patterns (escaped with `\\`) the product's search text must all match.
    pub patterns: Vec<String>,
    pub category: Option<String>,
    /// The origin as given on the 2008 map.
    pub origin_province_code: Option<String>,
    /// The current province the origin lies in.
    pub origin_current_code: Option<String>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct ProductActivity {
    #[diesel(sql_type = Text)]
    pub product_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub household_id: String,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    #[diesel(sql_type = BigInt)]
    pub value_vnd: i64,
    #[diesel(sql_type = BigInt)]
    pub weight_grams: i64,
    #[diesel(sql_type = BigInt)]
    pub export_weight_grams: i64,
}

#[derive(QueryableByName)]
struct ProductAmount {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = Text)]
    country_code: String,
}

/// `AND …` fragments for the filters, numbered from `$3`, and the values to bind in order.
fn product_filters(filter: &ProductReportFilter) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    let mut next = 3;
    if let Some(category) = &filter.category {
        sql.push_str(&format!(" AND p.category = ${next}"));
        binds.push(category.clone());
        next += 1;
    }
    if let Some(code) = &filter.origin_province_code {
        sql.push_str(&format!(
            " AND p.origin_province_code = ${next} AND p.origin_map = '2008'"
        ));
        binds.push(code.clone());
        next += 1;
    }
    if let Some(code) = &filter.origin_current_code {
        sql.push_str(&format!(" AND p.origin_current_code = ${next}"));
        binds.push(code.clone());
        next += 1;
    }
    for pattern in &filter.patterns {
        sql.push_str(&format!(" AND p.search_text LIKE ${next} ESCAPE '\\'"));
        binds.push(pattern.clone());
        next += 1;
    }
    (sql, binds)
}

fn filtered_query(template: &str, filter: &ProductReportFilter, period: Days) -> Sql<'static> {
    let (filters, binds) = product_filters(filter);
    let mut query = Sql::new(template.replace("{filters}", &filters))
        .bind(period.from)
        .bind(period.to);
    for value in binds {
        query.push(value);
    }
    query
}

/// Every product matching the filter, with its own order lines in the period.
pub fn product_activity(
    conn: &mut DbConnection,
    filter: &ProductReportFilter,
    period: Days,
) -> QueryResult<Vec<ProductActivity>> {
    filtered_query(include_str!("sql/products_report.sql"), filter, period).load(conn)
}

/// Views per matching product in the period.
pub fn product_views(
    conn: &mut DbConnection,
    filter: &ProductReportFilter,
    period: Days,
) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<ProductAmount> = filtered_query(
        include_str!("sql/products_report_views.sql"),
        filter,
        period,
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.key, r.amount)).collect())
}

/// Exported grams per matching product and country in the period.
pub fn product_exports(
    conn: &mut DbConnection,
    filter: &ProductReportFilter,
    period: Days,
) -> QueryResult<HashMap<String, Vec<(String, i64)>>> {
    let rows: Vec<ProductAmount> = filtered_query(
        include_str!("sql/products_report_exports.sql"),
        filter,
        period,
    )
    .load(conn)?;
    let mut exports: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for r in rows {
        exports
            .entry(r.key)
            .or_default()
            .push((r.country_code, r.amount));
    }
    Ok(exports)
}
