//! Product queries.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::api::Paging;
use crate::db::schema::{households, products};
use crate::db::sql::{self, Sql};
use crate::db::{DbConnection, MultiBackend};
use crate::search::like_pattern;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct Product {
    pub id: String,
    pub household_id: String,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    pub stock_quantity: i64,
    pub origin_province_code: String,
    pub certifications: String,
    pub ocop_stars: Option<i32>,
    pub harvest_from: Option<NaiveDate>,
    pub harvest_to: Option<NaiveDate>,
    pub status: String,
    pub views: i64,
    pub search_text: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Every mutable column; a PATCH writes the whole validated state back.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
pub struct ProductChanges {
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    pub stock_quantity: i64,
    pub origin_province_code: String,
    pub certifications: String,
    pub ocop_stars: Option<i32>,
    pub harvest_from: Option<NaiveDate>,
    pub harvest_to: Option<NaiveDate>,
    pub status: String,
    pub search_text: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductSort {
    Newest,
    PriceAsc,
    PriceDesc,
    Popular,
}

#[derive(Debug, Default)]
pub struct ProductFilter {
    pub words: Vec<String>,
    pub category: Option<String>,
    pub origin_province_code: Option<String>,
    pub household_id: Option<String>,
    pub certification: Option<String>,
    pub min_price_vnd: Option<i64>,
    pub max_price_vnd: Option<i64>,
    pub in_stock: bool,
    /// `None`: the public listing (active products of active households).
    pub status: Option<String>,
}

pub fn insert(conn: &mut DbConnection, product: &Product) -> QueryResult<()> {
    diesel::insert_into(products::table)
        .values(product)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Product>> {
    products::table
        .find(id)
        .select(Product::as_select())
        .first(conn)
        .optional()
}

pub fn update(conn: &mut DbConnection, id: &str, changes: &ProductChanges) -> QueryResult<usize> {
    diesel::update(products::table.find(id))
        .set(changes)
        .execute(conn)
}

pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(products::table.find(id))
        .set((products::status.eq(status), products::updated_at.eq(now)))
        .execute(conn)
}

type FilteredProducts = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::InnerJoin<products::table, households::table>,
    MultiBackend,
>;

/// `full_text`: on SQLite, words of 3+ characters go through the FTS5 trigram index
/// (`products_fts`); elsewhere, and for shorter words, `LIKE` (PostgreSQL: pg_trgm indexes).
fn filtered(filter: &ProductFilter, full_text: bool) -> FilteredProducts {
    let mut query = products::table.inner_join(households::table).into_boxed();
    match &filter.status {
        None => {
            query = query
                .filter(products::status.eq(crate::products::model::STATUS_ACTIVE))
                .filter(households::status.eq(crate::households::model::STATUS_ACTIVE));
        }
        Some(status) => query = query.filter(products::status.eq(status.clone())),
    }
    let mut phrases = Vec::new();
    for word in &filter.words {
        if full_text && word.chars().count() >= 3 {
            // Words are letters and digits only (see `search::query_words`); quoting is still right.
            phrases.push(format!("\"{}\"", word.replace('"', "\"\"")));
        } else {
            query = query.filter(products::search_text.like(like_pattern(word)).escape('\\'));
        }
    }
    if !phrases.is_empty() {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "products.rowid IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ",
            )
            .bind::<diesel::sql_types::Text, _>(phrases.join(" AND "))
            .sql(")"),
        );
    }
    if let Some(category) = &filter.category {
        query = query.filter(products::category.eq(category.clone()));
    }
    if let Some(code) = &filter.origin_province_code {
        query = query.filter(products::origin_province_code.eq(code.clone()));
    }
    if let Some(household_id) = &filter.household_id {
        query = query.filter(products::household_id.eq(household_id.clone()));
    }
    if let Some(certification) = &filter.certification {
        query = query.filter(products::certifications.like(format!("%,{certification},%")));
    }
    if let Some(min) = filter.min_price_vnd {
        query = query.filter(products::price_vnd.ge(min));
    }
    if let Some(max) = filter.max_price_vnd {
        query = query.filter(products::price_vnd.le(max));
    }
    if filter.in_stock {
        query = query.filter(products::stock_quantity.gt(0));
    }
    query
}

/// One page in the requested order (ties broken by id, newest first) and the number of matches.
pub fn list(
    conn: &mut DbConnection,
    filter: &ProductFilter,
    sort: ProductSort,
    paging: Paging,
) -> QueryResult<(Vec<Product>, i64)> {
    let full_text = matches!(conn, DbConnection::Sqlite(_));
    let total = filtered(filter, full_text).count().get_result(conn)?;
    if total == 0 {
        return Ok((Vec::new(), 0));
    }
    let query = filtered(filter, full_text);
    let query = match sort {
        ProductSort::Newest => query.order((products::created_at.desc(), products::id.desc())),
        ProductSort::PriceAsc => query.order((products::price_vnd.asc(), products::id.desc())),
        ProductSort::PriceDesc => query.order((products::price_vnd.desc(), products::id.desc())),
        ProductSort::Popular => query.order((products::views.desc(), products::id.desc())),
    };
    let rows = query
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(Product::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Rows per statement when adding views: well under both databases' parameter limits.
const VIEW_ROWS_PER_STATEMENT: usize = 500;

/// Adds views of products on days: to each day's count and to each product's running total.
/// Multi-row statements with the same SQL on both databases.
pub fn add_views(conn: &mut DbConnection, entries: &[(String, NaiveDate, i64)]) -> QueryResult<()> {
    for chunk in entries.chunks(VIEW_ROWS_PER_STATEMENT) {
        let text = format!(
            "INSERT INTO product_view_days (product_id, day, views) VALUES {} \
             ON CONFLICT (product_id, day) DO UPDATE SET views = product_view_days.views + excluded.views",
            sql::value_rows(1, chunk.len(), 3)
        );
        let mut statement = Sql::new(text).cached_if(chunk.len() <= sql::CACHED_ROWS);
        for (product_id, day, count) in chunk {
            statement.push(product_id.as_str());
            statement.push(*day);
            statement.push(*count);
        }
        statement.execute(conn)?;
    }
    let mut totals: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (product_id, _, count) in entries {
        *totals.entry(product_id.as_str()).or_default() += count;
    }
    let totals: Vec<(&str, i64)> = totals.into_iter().collect();
    for chunk in totals.chunks(VIEW_ROWS_PER_STATEMENT) {
        // VALUES columns are column1, column2 on both databases.
        let text = format!(
            "UPDATE products SET views = products.views + v.column2 FROM (VALUES {}) AS v \
             WHERE products.id = v.column1",
            sql::value_rows(1, chunk.len(), 2)
        );
        let mut statement = Sql::new(text).cached_if(chunk.len() <= sql::CACHED_ROWS);
        for (product_id, count) in chunk {
            statement.push(*product_id);
            statement.push(*count);
        }
        statement.execute(conn)?;
    }
    Ok(())
}
