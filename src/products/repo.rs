//! Product queries.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::ProductStatus;
use crate::api::Paging;
use crate::catalogue::Sort;
use crate::db::schema::{households, products};
use crate::db::sql::{self, ArrayColumn, Sql};
use crate::db::{DbConnection, MultiBackend};
use crate::households::model::HouseholdStatus;
use crate::ids::{HouseholdId, ProductId};
use crate::provinces::ProvinceMap;
use crate::search::like_pattern;

/// A product listing: what it is, its price per unit, stock, origin and certifications.
// The stored row is also the API's JSON (certifications as a list, times in RFC 3339, no search
// text); the catalogue's index keeps each listed one, serialized (postcard), to answer searches with.
#[derive(
    Debug,
    Clone,
    Queryable,
    Selectable,
    Insertable,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[schema(as = ProductView)]
#[diesel(table_name = products)]
// NULL, not DEFAULT, for None: what bulk inserts (PostgreSQL COPY) need; no nullable column has a default.
#[diesel(treat_none_as_default_value = false)]
pub struct Product {
    #[schema(value_type = String)]
    pub id: ProductId,
    #[schema(value_type = String)]
    pub household_id: HouseholdId,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    pub stock_quantity: i64,
    pub origin_province_code: String,
    #[serde(with = "super::model::certification_list")]
    #[schema(value_type = Vec<String>)]
    pub certifications: String,
    pub ocop_stars: Option<i32>,
    pub harvest_from: Option<NaiveDate>,
    pub harvest_to: Option<NaiveDate>,
    pub status: ProductStatus,
    pub views: i64,
    /// The folded name and description that the database search reads (not shown).
    #[serde(skip)]
    pub search_text: String,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: NaiveDateTime,
    /// The map `origin_province_code` is on: `2008` or `current`.
    pub origin_map: ProvinceMap,
    /// The current province the origin lies in.
    pub origin_current_code: Option<String>,
}

/// The columns a PATCH was given (`None` leaves a column as it is, `Some(None)` clears it): a
/// concurrent write to another column, such as an order taking stock, is never undone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub unit_weight_grams: Option<i64>,
    pub price_vnd: Option<i64>,
    pub stock_quantity: Option<i64>,
    pub origin_province_code: Option<String>,
    pub certifications: Option<String>,
    pub ocop_stars: Option<Option<i32>>,
    pub harvest_from: Option<Option<NaiveDate>>,
    pub harvest_to: Option<Option<NaiveDate>>,
    pub status: Option<ProductStatus>,
    pub search_text: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    pub origin_map: Option<ProvinceMap>,
    pub origin_current_code: Option<Option<String>>,
}

#[derive(Debug, Default)]
pub struct ProductFilter {
    pub words: Vec<String>,
    pub category: Option<String>,
    /// The origin: a current province (every product lying in it), or a 2008 one (products
    /// whose origin was given as it).
    pub origin: Option<(String, ProvinceMap)>,
    pub household_id: Option<HouseholdId>,
    pub certification: Option<String>,
    pub min_price_vnd: Option<i64>,
    pub max_price_vnd: Option<i64>,
    pub in_stock: bool,
    /// `None`: the public listing (active products of active households).
    pub status: Option<ProductStatus>,
}

pub fn insert(conn: &mut DbConnection, product: &Product) -> QueryResult<()> {
    diesel::insert_into(products::table)
        .values(product)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &ProductId) -> QueryResult<Option<Product>> {
    products::table
        .find(id)
        .select(Product::as_select())
        .first(conn)
        .optional()
}

/// A product read to be changed: on PostgreSQL its row stays locked until the transaction ends,
/// so that what a change checks (its status, the fields a rule spans) is what it changes; an
/// order taking its stock meanwhile waits. SQLite's writers take turns anyway.
pub fn find_for_update(conn: &mut DbConnection, id: &ProductId) -> QueryResult<Option<Product>> {
    match conn {
        DbConnection::Postgres(pg) => products::table
            .find(id)
            .select(Product::as_select())
            .for_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(_) => find(conn, id),
    }
}

pub fn update(conn: &mut DbConnection, id: &ProductId, patch: &ProductPatch) -> QueryResult<usize> {
    diesel::update(products::table.find(id))
        .set(patch)
        .execute(conn)
}

pub fn set_status(
    conn: &mut DbConnection,
    id: &ProductId,
    status: ProductStatus,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(products::table.find(id))
        .set((products::status.eq(status), products::updated_at.eq(now)))
        .execute(conn)
}

type FilteredProducts = diesel::dsl::IntoBoxed<'static, products::table, MultiBackend>;

/// How a query over the catalogue is put to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// PostgreSQL: words through `LIKE` (pg_trgm indexes); its planner chooses the rest.
    Postgres,
    /// SQLite: words of 3+ characters through the FTS5 trigram index (`products_fts`), and the
    /// matches looked up by rowid: best for counting, and for pages of few matches.
    SqliteMatchesFirst,
    /// SQLite: the same conditions, but the index and rowid lookups are disabled (`+`), so that
    /// SQLite walks the sort order's index and stops once the page is full. For the first pages
    /// of a common word (thousands of matches) this reads a few hundred rows instead of looking
    /// up and sorting every match.
    SqliteInSortOrder,
}

/// Pages at most this deep into at least this many matches are read in sort order on SQLite.
const IN_SORT_ORDER_MIN_MATCHES: i64 = 2_000;
const IN_SORT_ORDER_MAX_DEPTH_SHARE: i64 = 10;

fn filtered(filter: &ProductFilter, plan: Plan) -> FilteredProducts {
    // `+` keeps SQLite from using an index for the term (it then takes the sort order's index).
    let unindexed = if plan == Plan::SqliteInSortOrder {
        "+"
    } else {
        ""
    };
    let mut query = products::table.into_boxed();
    match &filter.status {
        None => {
            query = query
                .filter(products::status.eq(ProductStatus::Active))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                    "{unindexed}products.household_id IN \
                     (SELECT households.id FROM households WHERE households.status = '{}')",
                    HouseholdStatus::Active
                )));
        }
        Some(status) => query = query.filter(products::status.eq(*status)),
    }
    let mut phrases = Vec::new();
    for word in &filter.words {
        if plan != Plan::Postgres && word.chars().count() >= 3 {
            // Words are letters and digits only (see `search::query_words`); quoting is still right.
            phrases.push(format!("\"{}\"", word.replace('"', "\"\"")));
        } else {
            query = query.filter(products::search_text.like(like_pattern(word)).escape('\\'));
        }
    }
    if !phrases.is_empty() {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "{unindexed}products.rowid IN \
                 (SELECT rowid FROM products_fts WHERE products_fts MATCH "
            ))
            .bind::<diesel::sql_types::Text, _>(phrases.join(" AND "))
            .sql(")"),
        );
    }
    if let Some(category) = &filter.category {
        query = query.filter(products::category.eq(category.clone()));
    }
    match &filter.origin {
        Some((code, ProvinceMap::Current)) => {
            query = query.filter(products::origin_current_code.eq(code.clone()));
        }
        Some((code, ProvinceMap::Former)) => {
            query = query
                .filter(products::origin_province_code.eq(code.clone()))
                .filter(products::origin_map.eq(ProvinceMap::Former));
        }
        None => {}
    }
    if let Some(household_id) = &filter.household_id {
        query = query.filter(products::household_id.eq(*household_id));
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
    sort: Sort,
    paging: Paging,
) -> QueryResult<(Vec<Product>, i64)> {
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let counting_plan = if sqlite {
        Plan::SqliteMatchesFirst
    } else {
        Plan::Postgres
    };
    let total = filtered(filter, counting_plan).count().get_result(conn)?;
    if total == 0 {
        return Ok((Vec::new(), 0));
    }
    let depth = paging.offset() + paging.per_page;
    let page_plan = if sqlite
        && total >= IN_SORT_ORDER_MIN_MATCHES
        && depth * IN_SORT_ORDER_MAX_DEPTH_SHARE <= total
    {
        Plan::SqliteInSortOrder
    } else {
        counting_plan
    };
    let rows = page(conn, filter, sort, paging, page_plan)?;
    Ok((rows, total))
}

fn page(
    conn: &mut DbConnection,
    filter: &ProductFilter,
    sort: Sort,
    paging: Paging,
    plan: Plan,
) -> QueryResult<Vec<Product>> {
    let query = filtered(filter, plan);
    let query = match sort {
        Sort::Newest | Sort::Relevance => {
            query.order((products::created_at.desc(), products::id.desc()))
        }
        Sort::PriceAsc => query.order((products::price_vnd.asc(), products::id.desc())),
        Sort::PriceDesc => query.order((products::price_vnd.desc(), products::id.desc())),
        Sort::Popular => query.order((products::views.desc(), products::id.desc())),
    };
    query
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(Product::as_select())
        .load(conn)
}

/// Rows per statement when adding views: well under both databases' parameter limits.
const VIEW_ROWS_PER_STATEMENT: usize = 500;

/// Adds views of products on days: to each day's count and to each product's running total.
pub fn add_views(conn: &mut DbConnection, entries: &[(String, NaiveDate, i64)]) -> QueryResult<()> {
    add_view_days(conn, entries)?;
    let totals: Vec<(&str, i64)> = view_totals(entries).into_iter().collect();
    add_product_views(conn, &totals)
}

/// Views per product over all the days of `entries`, in product-id order.
pub fn view_totals(entries: &[(String, NaiveDate, i64)]) -> BTreeMap<&str, i64> {
    let mut totals = BTreeMap::new();
    for (product_id, _, count) in entries {
        *totals.entry(product_id.as_str()).or_default() += count;
    }
    totals
}

/// Adds views of products on days to `product_view_days` (not to the products' running totals).
pub fn add_view_days(
    conn: &mut DbConnection,
    entries: &[(String, NaiveDate, i64)],
) -> QueryResult<()> {
    let columns = [
        ArrayColumn::Text(entries.iter().map(|(p, _, _)| p.as_str()).collect()),
        ArrayColumn::Date(entries.iter().map(|(_, d, _)| *d).collect()),
        ArrayColumn::BigInt(entries.iter().map(|(_, _, n)| *n).collect()),
    ];
    sql::execute_rows(conn, &columns, VIEW_ROWS_PER_STATEMENT, |rows| {
        format!(
            "INSERT INTO product_view_days (product_id, day, views) {rows} \
             ON CONFLICT (product_id, day) \
             DO UPDATE SET views = product_view_days.views + excluded.views"
        )
    })?;
    Ok(())
}

/// Adds to products' running view totals.
pub fn add_product_views(conn: &mut DbConnection, totals: &[(&str, i64)]) -> QueryResult<()> {
    let columns = [
        ArrayColumn::Text(totals.iter().map(|(p, _)| *p).collect()),
        ArrayColumn::BigInt(totals.iter().map(|(_, n)| *n).collect()),
    ];
    sql::execute_rows(conn, &columns, VIEW_ROWS_PER_STATEMENT, |rows| {
        format!(
            "WITH v (id, views) AS ({rows}) \
             UPDATE products SET views = products.views + v.views FROM v WHERE products.id = v.id"
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::run_migrations;
    use diesel::connection::SimpleConnection;

    fn product(i: i64, household_id: HouseholdId, base: NaiveDateTime) -> Product {
        let name = if i % 3 == 0 {
            "Vải thiều"
        } else {
            "Cam sành"
        };
        Product {
            id: ProductId(uuid::Uuid::from_u128(i as u128 + 1)),
            household_id,
            name: name.to_owned(),
            description: None,
            category: "fruit".to_owned(),
            unit: "kg".to_owned(),
            unit_weight_grams: 1000,
            // Repeated prices, views and times: ties must fall back to the id in both plans.
            price_vnd: 10_000 + (i * 7919 % 50) * 1000,
            stock_quantity: 5,
            origin_province_code: "24".to_owned(),
            certifications: String::new(),
            ocop_stars: None,
            harvest_from: None,
            harvest_to: None,
            status: if i % 10 == 0 {
                ProductStatus::Paused
            } else {
                ProductStatus::Active
            },
            views: i % 13,
            search_text: crate::search::fold(name),
            created_at: base + chrono::Duration::seconds(i / 2),
            updated_at: base,
            origin_map: ProvinceMap::Former,
            origin_current_code: Some("24".to_owned()),
        }
    }

    /// Both SQLite plans give the same pages in every sort order, paused products and those of
    /// suspended households left out.
    #[test]
    fn sqlite_plans_agree_on_every_page() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        run_migrations(&mut conn).unwrap();
        let (h1, h2) = (HouseholdId::generate(), HouseholdId::generate());
        conn.batch_execute(&format!(
            "INSERT INTO households (id, name, province_code, status, search_text, joined_at, \
             created_at, updated_at) VALUES \
             ('{h1}', 'Hộ 1', '24', 'active', 'ho 1', '2021-01-01', '2021-01-01', '2021-01-01'), \
             ('{h2}', 'Hộ 2', '24', 'suspended', 'ho 2', '2021-01-01', '2021-01-01', '2021-01-01')",
        ))
        .unwrap();
        let base = chrono::NaiveDate::from_ymd_opt(2021, 5, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        for i in 0..7_000 {
            let household = if i % 7 == 0 { h2 } else { h1 };
            insert(&mut conn, &product(i, household, base)).unwrap();
        }
        let filter = ProductFilter {
            words: vec!["cam".to_owned(), "sanh".to_owned()],
            ..ProductFilter::default()
        };
        // Active products (not every tenth) of the active household (not every seventh), of the
        // two in three that are "Cam sành".
        let expected = (0..7_000)
            .filter(|i| i % 3 != 0 && i % 10 != 0 && i % 7 != 0)
            .count() as i64;
        for sort in [Sort::Newest, Sort::PriceAsc, Sort::PriceDesc, Sort::Popular] {
            for number in [1, 2, 7] {
                let paging = Paging {
                    page: number,
                    per_page: 20,
                };
                let (rows, total) = list(&mut conn, &filter, sort, paging).unwrap();
                assert_eq!(total, expected);
                let in_order = page(&mut conn, &filter, sort, paging, Plan::SqliteInSortOrder);
                let matches_first =
                    page(&mut conn, &filter, sort, paging, Plan::SqliteMatchesFirst);
                let ids = |rows: &[Product]| rows.iter().map(|p| p.id).collect::<Vec<_>>();
                assert_eq!(ids(&in_order.unwrap()), ids(&matches_first.unwrap()));
                assert_eq!(rows.len(), 20);
                assert!(
                    rows.iter()
                        .all(|p| p.household_id == h1 && p.status == ProductStatus::Active)
                );
            }
        }
    }
}

/// What an order line records of a product when the order is placed.
#[derive(Debug, Clone, Queryable, QueryableByName)]
pub struct ProductSnapshot {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub id: ProductId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub household_id: HouseholdId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub category: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub price_vnd: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub unit_weight_grams: i64,
}

/// What a product's search text is made of: id, name, description, origin and its map.
pub type SearchSource = (ProductId, String, Option<String>, String, ProvinceMap);

/// The next `limit` products after `after` (by id), with what their search text is made of.
pub fn search_sources(
    conn: &mut DbConnection,
    after: Option<ProductId>,
    limit: i64,
) -> QueryResult<Vec<SearchSource>> {
    let mut query = products::table
        .select((
            products::id,
            products::name,
            products::description,
            products::origin_province_code,
            products::origin_map,
        ))
        .order(products::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(products::id.gt(after));
    }
    query.load(conn)
}

/// Sets products' search texts, `(id, text)`.
pub fn set_search_texts(conn: &mut DbConnection, texts: &[(String, String)]) -> QueryResult<()> {
    let columns = [
        ArrayColumn::Text(texts.iter().map(|(id, _)| id.as_str()).collect()),
        ArrayColumn::Text(texts.iter().map(|(_, text)| text.as_str()).collect()),
    ];
    sql::execute_rows(conn, &columns, VIEW_ROWS_PER_STATEMENT, |rows| {
        format!(
            "WITH v (id, search_text) AS ({rows}) \
             UPDATE products SET search_text = v.search_text FROM v WHERE products.id = v.id"
        )
    })?;
    Ok(())
}

impl Product {
    /// What an order line records of this product.
    pub fn snapshot(&self) -> ProductSnapshot {
        ProductSnapshot {
            id: self.id,
            household_id: self.household_id,
            name: self.name.clone(),
            category: self.category.clone(),
            price_vnd: self.price_vnd,
            unit_weight_grams: self.unit_weight_grams,
        }
    }
}

/// The snapshots of each of these products that exists.
pub fn snapshots(conn: &mut DbConnection, ids: &[ProductId]) -> QueryResult<Vec<ProductSnapshot>> {
    products::table
        .filter(products::id.eq_any(ids))
        .select((
            products::id,
            products::household_id,
            products::name,
            products::category,
            products::price_vnd,
            products::unit_weight_grams,
        ))
        .load(conn)
}

/// Many products at once (imports), the fastest way each database has.
pub fn insert_many(conn: &mut DbConnection, rows: &[Product]) -> QueryResult<usize> {
    crate::db::bulk_insert!(conn, products::table, rows)
}

/// A product as the order check needs it: its state and its household's.
#[derive(Debug, Clone, Queryable)]
pub struct OrderableProduct {
    pub id: ProductId,
    pub name: String,
    pub status: ProductStatus,
    pub stock_quantity: i64,
    pub household_id: HouseholdId,
    pub household_status: HouseholdStatus,
}

/// The products of an order with their households' status: why a line could not be taken.
pub fn orderable_products(
    conn: &mut DbConnection,
    ids: &[ProductId],
) -> QueryResult<Vec<OrderableProduct>> {
    products::table
        .inner_join(households::table)
        .filter(products::id.eq_any(ids))
        .select((
            products::id,
            products::name,
            products::status,
            products::stock_quantity,
            products::household_id,
            households::status,
        ))
        .load(conn)
}

/// Takes `quantity` units of an active product of an active household in one conditional
/// statement, and returns the snapshot of the row it changed; `None` when the product cannot be
/// ordered or has too little stock (nothing changed).
/// No read-then-write: concurrent buyers cannot oversell on either database.
pub fn take_stock(
    conn: &mut DbConnection,
    product_id: &ProductId,
    quantity: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<ProductSnapshot>> {
    // Statuses are literals, not values: SQLite re-plans a statement whenever a value compared
    // with an indexed column changes (its STAT4 statistics), which would undo the caching.
    let taken = Sql::new(
        "UPDATE products SET stock_quantity = stock_quantity - $2, updated_at = $3 \
         WHERE id = $1 AND status = 'active' AND stock_quantity >= $2 \
         AND EXISTS (SELECT 1 FROM households h WHERE h.id = products.household_id AND h.status = 'active') \
         RETURNING id, household_id, name, category, price_vnd, unit_weight_grams",
    )
    .bind(product_id.to_db())
    .bind(quantity)
    .bind(now)
    .load::<ProductSnapshot>(conn)?;
    Ok(taken.into_iter().next())
}

pub fn return_stock(
    conn: &mut DbConnection,
    product_id: &ProductId,
    quantity: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(products::table.find(product_id))
        .set((
            products::stock_quantity.eq(products::stock_quantity + quantity),
            products::updated_at.eq(now),
        ))
        .execute(conn)
}

/// A product the public catalogue lists (active, of an active household) with its household's
/// name: what the search index holds of it.
pub type ListedRow = (Product, String);

/// Which listed products to read.
pub enum Listed<'a> {
    Products(&'a [String]),
    OfHouseholds(&'a [String]),
}

pub fn listed(conn: &mut DbConnection, which: Listed<'_>) -> QueryResult<Vec<ListedRow>> {
    let query = products::table
        .inner_join(households::table)
        .filter(products::status.eq(ProductStatus::Active))
        .filter(households::status.eq(HouseholdStatus::Active))
        .select((Product::as_select(), households::name))
        .into_boxed::<MultiBackend>();
    let query = match which {
        Listed::Products(ids) => query.filter(products::id.eq_any(ids.to_vec())),
        Listed::OfHouseholds(ids) => query.filter(products::household_id.eq_any(ids.to_vec())),
    };
    query.load(conn)
}

/// The listed products among the next `limit` products in id order after `after`, and the last
/// id read (`None` past the last product). Products in id order, then their households: a join
/// sorted by product id would have SQLite sort every row for each batch.
pub fn listed_after(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<(Vec<ListedRow>, Option<String>)> {
    let mut query = products::table
        .order(products::id.asc())
        .limit(limit)
        .select(Product::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(after) = after {
        query = query.filter(products::id.gt(after.to_owned()));
    }
    let batch: Vec<Product> = query.load(conn)?;
    let Some(last) = batch.last().map(|p| p.id.to_db()) else {
        return Ok((Vec::new(), None));
    };
    let mut owners: Vec<HouseholdId> = batch.iter().map(|p| p.household_id).collect();
    owners.sort_unstable();
    owners.dedup();
    let active: BTreeMap<HouseholdId, String> = households::table
        .filter(households::id.eq_any(&owners))
        .filter(households::status.eq(HouseholdStatus::Active))
        .select((households::id, households::name))
        .load::<(HouseholdId, String)>(conn)?
        .into_iter()
        .collect();
    let listed = batch
        .into_iter()
        .filter(|p| p.status == ProductStatus::Active)
        .filter_map(|p| active.get(&p.household_id).cloned().map(|name| (p, name)))
        .collect();
    Ok((listed, Some(last)))
}

/// How many products the public catalogue lists.
pub fn listed_count(conn: &mut DbConnection) -> QueryResult<i64> {
    products::table
        .inner_join(households::table)
        .filter(products::status.eq(ProductStatus::Active))
        .filter(households::status.eq(HouseholdStatus::Active))
        .count()
        .get_result(conn)
}

/// A product as a cart needs it: whether it is on sale, what it costs and weighs, and the
/// province (current map) its household ships from.
#[derive(Debug, Clone, Queryable)]
pub struct CartProduct {
    pub id: ProductId,
    pub status: ProductStatus,
    pub price_vnd: i64,
    pub unit_weight_grams: i64,
    pub household_id: HouseholdId,
    pub household_status: HouseholdStatus,
    pub household_province: Option<String>,
    /// The parcel value from which the household ships free.
    pub household_free_shipping_from_vnd: Option<i64>,
}

impl CartProduct {
    /// An active product of an active household.
    pub fn on_sale(&self) -> bool {
        self.status == ProductStatus::Active && self.household_status == HouseholdStatus::Active
    }
}

pub fn cart_products(conn: &mut DbConnection, ids: &[ProductId]) -> QueryResult<Vec<CartProduct>> {
    products::table
        .inner_join(households::table)
        .filter(products::id.eq_any(ids))
        .select((
            products::id,
            products::status,
            products::price_vnd,
            products::unit_weight_grams,
            products::household_id,
            households::status,
            households::current_province_code,
            households::free_shipping_from_vnd,
        ))
        .load(conn)
}
