//! Report queries over the rollups. The SQL lives in `sql/*.sql`; the only text spliced into it
//! comes from fixed lists here, never from a request.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use super::period::Period;
use super::rollups::{CounterColumns, Counts, first_of_month};
use crate::db::DbConnection;
use crate::db::sql::Sql;
use crate::search::like_pattern;

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(embed)]
    counters: CounterColumns,
}

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(embed)]
    counters: CounterColumns,
}

/// The platform's rollup rows up to `until`, oldest first (at most one per day).
pub fn day_totals(
    conn: &mut DbConnection,
    until: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, Counts)>> {
    let rows: Vec<DayRow> = Sql::new(include_str!("sql/day_totals.sql"))
        .bind(until)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.day, Counts::from(r.counters)))
        .collect())
}

#[derive(QueryableByName)]
struct TotalsRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    which: i32,
    #[diesel(embed)]
    counters: CounterColumns,
}

/// The platform's counters of a period and of the compared one, summed by the database in one
/// round trip.
pub fn period_totals(
    conn: &mut DbConnection,
    period: Period,
    compared: Option<Period>,
) -> QueryResult<(Counts, Option<Counts>)> {
    let other = compared.unwrap_or(period);
    let rows: Vec<TotalsRow> = Sql::new(include_str!("sql/period_totals.sql"))
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
            .map(|r| Counts::from(r.counters))
            .unwrap_or_default()
    };
    Ok((of(0), compared.map(|_| of(1))))
}

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Province,
    Category,
    Household,
}

fn run_grouped(
    conn: &mut DbConnection,
    sql: String,
    period: Period,
    into: &mut HashMap<String, Counts>,
) -> QueryResult<()> {
    let rows: Vec<GroupRow> = Sql::new(sql).bind(period.from).bind(period.to).load(conn)?;
    for r in rows {
        into.entry(r.key)
            .or_default()
            .checked_add(&Counts::from(r.counters))?;
    }
    Ok(())
}

/// Every counter of a period per group: flows over the period, `*_active` summed up to its end.
pub fn grouped(
    conn: &mut DbConnection,
    grouping: Grouping,
    period: Period,
) -> QueryResult<HashMap<String, Counts>> {
    let mut groups = HashMap::new();
    let households = include_str!("sql/households_by.sql");
    let products = include_str!("sql/products_by.sql");
    let views = include_str!("sql/views_by.sql");
    match grouping {
        Grouping::Province | Grouping::Household => {
            let key = if grouping == Grouping::Province {
                "h.province_code"
            } else {
                "h.id"
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
                let households = Counts {
                    households_joined: c.households_joined,
                    households_active: c.households_active,
                    ..Counts::default()
                };
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
                include_str!("sql/category_orders.sql").to_owned(),
                period,
                &mut groups,
            )?;
        }
    }
    Ok(groups)
}

/// Names of households, by id.
pub fn household_names(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    use crate::db::schema::households;
    let mut names = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(String, String)> = households::table
            .filter(households::id.eq_any(chunk))
            .select((households::id, households::name))
            .load(conn)?;
        names.extend(rows);
    }
    Ok(names)
}

/// Filters of the products report.
#[derive(Debug, Default, Clone)]
pub struct ProductReportFilter {
    pub words: Vec<String>,
    pub category: Option<String>,
    pub origin_province_code: Option<String>,
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
        sql.push_str(&format!(" AND p.origin_province_code = ${next}"));
        binds.push(code.clone());
        next += 1;
    }
    for word in &filter.words {
        sql.push_str(&format!(" AND p.search_text LIKE ${next} ESCAPE '\\'"));
        binds.push(like_pattern(word));
        next += 1;
    }
    (sql, binds)
}

fn filtered_query(template: &str, filter: &ProductReportFilter, period: Period) -> Sql<'static> {
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
    period: Period,
) -> QueryResult<Vec<ProductActivity>> {
    filtered_query(include_str!("sql/products_report.sql"), filter, period).load(conn)
}

/// Views per matching product in the period.
pub fn product_views(
    conn: &mut DbConnection,
    filter: &ProductReportFilter,
    period: Period,
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
    period: Period,
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
