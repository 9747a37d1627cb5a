//! Order queries, including the one conditional statement that takes stock.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{OrderStatus, PaymentMethod, PaymentStatus};
use crate::api::Paging;
use crate::db::schema::{households, idempotency_keys, order_items, orders};
use crate::db::sql::Sql;
use crate::db::{DbConnection, MultiBackend};
use crate::ids::{CheckoutId, HouseholdId, OrderId, ProductId, UserId};
use crate::provinces::ProvinceMap;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
// NULL, not DEFAULT, for None: what bulk inserts (PostgreSQL COPY) need; no nullable column has a default.
#[diesel(treat_none_as_default_value = false)]
pub struct Order {
    pub id: OrderId,
    pub buyer_id: Option<UserId>,
    pub household_id: HouseholdId,
    pub status: OrderStatus,
    pub total_vnd: i64,
    pub total_weight_grams: i64,
    pub recipient_name: String,
    pub phone: String,
    pub address: String,
    pub province_code: Option<String>,
    pub country_code: String,
    pub payment_method: PaymentMethod,
    pub payment_status: PaymentStatus,
    pub tracking_code: Option<String>,
    pub note: Option<String>,
    pub placed_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub shipped_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: Option<String>,
    /// Whether placing it took its items' stock (imported history did not): what a cancel returns.
    pub stock_taken: bool,
    /// The map `province_code` is on.
    pub province_map: ProvinceMap,
    pub commune_code: Option<String>,
    /// The checkout that placed it (imported history has none).
    pub checkout_id: Option<CheckoutId>,
    /// The parcel's fee (`total_vnd` is the goods' value).
    pub shipping_vnd: i64,
    /// The shipping zone the fee was priced at.
    pub shipping_zone: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items)]
#[diesel(treat_none_as_default_value = false)]
pub struct OrderItem {
    pub order_id: OrderId,
    pub line_no: i32,
    pub product_id: ProductId,
    pub product_name: String,
    pub product_category: String,
    pub quantity: i64,
    pub unit_price_vnd: i64,
    pub unit_weight_grams: i64,
    pub line_total_vnd: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub buyer_id: UserId,
    pub key: String,
    pub request_hash: String,
    pub order_id: OrderId,
    pub created_at: NaiveDateTime,
}

/// What a status move writes besides the status.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = orders)]
pub struct OrderMove {
    pub status: Option<OrderStatus>,
    pub payment_status: Option<PaymentStatus>,
    pub tracking_code: Option<String>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub shipped_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: Option<String>,
}

impl OrderMove {
    pub fn cancel(now: NaiveDateTime, reason: Option<String>) -> Self {
        OrderMove {
            status: Some(OrderStatus::Cancelled),
            cancelled_at: Some(now),
            cancel_reason: reason,
            ..Default::default()
        }
    }
}

#[derive(Debug, Default)]
pub struct OrderFilter {
    pub buyer_id: Option<UserId>,
    /// Orders of the households this user owns.
    pub household_owner_id: Option<UserId>,
    pub household_id: Option<HouseholdId>,
    pub status: Option<OrderStatus>,
    pub placed_from: Option<NaiveDateTime>,
    pub placed_before: Option<NaiveDateTime>,
}

/// The order and its lines. Written out as SQL so that the statements are prepared once per
/// connection: diesel never caches its INSERT (or UPDATE) statements, and this is the hot path.
/// `stock_taken` is left to its default (true): orders placed here take their stock.
pub fn insert_order(
    conn: &mut DbConnection,
    order: &Order,
    items: &[OrderItem],
) -> QueryResult<()> {
    Sql::new(
        "INSERT INTO orders (id, buyer_id, household_id, status, total_vnd, total_weight_grams, \
         recipient_name, phone, address, province_code, country_code, payment_method, payment_status, \
         tracking_code, note, placed_at, confirmed_at, shipped_at, delivered_at, cancelled_at, \
         cancel_reason, province_map, commune_code, checkout_id, shipping_vnd, shipping_zone) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22, $23, $24, $25, $26)",
    )
    .bind(order.id.to_db())
    .bind(order.buyer_id.map(|id| id.to_db()))
    .bind(order.household_id.to_db())
    .bind(order.status.as_str())
    .bind(order.total_vnd)
    .bind(order.total_weight_grams)
    .bind(order.recipient_name.as_str())
    .bind(order.phone.as_str())
    .bind(order.address.as_str())
    .bind(order.province_code.as_deref())
    .bind(order.country_code.as_str())
    .bind(order.payment_method.as_str())
    .bind(order.payment_status.as_str())
    .bind(order.tracking_code.as_deref())
    .bind(order.note.as_deref())
    .bind(order.placed_at)
    .bind(order.confirmed_at)
    .bind(order.shipped_at)
    .bind(order.delivered_at)
    .bind(order.cancelled_at)
    .bind(order.cancel_reason.as_deref())
    .bind(order.province_map.as_str())
    .bind(order.commune_code.as_deref())
    .bind(order.checkout_id.map(|id| id.to_db()))
    .bind(order.shipping_vnd)
    .bind(order.shipping_zone.as_deref())
    .execute(conn)?;
    for item in items {
        Sql::new(
            "INSERT INTO order_items (order_id, line_no, product_id, product_name, product_category, \
             quantity, unit_price_vnd, unit_weight_grams, line_total_vnd) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(item.order_id.to_db())
        .bind(item.line_no)
        .bind(item.product_id.to_db())
        .bind(item.product_name.as_str())
        .bind(item.product_category.as_str())
        .bind(item.quantity)
        .bind(item.unit_price_vnd)
        .bind(item.unit_weight_grams)
        .bind(item.line_total_vnd)
        .execute(conn)?;
    }
    Ok(())
}

/// The orders a checkout placed, in the order their households first appear in its cart.
pub fn of_checkout(conn: &mut DbConnection, checkout_id: &CheckoutId) -> QueryResult<Vec<Order>> {
    orders::table
        .filter(orders::checkout_id.eq(checkout_id))
        .order(orders::id)
        .select(Order::as_select())
        .load(conn)
}

/// The same, locked (PostgreSQL, in id order) until the transaction ends: what a payment judges
/// is what it pays, while a cancel or delivery of one of them waits (and then sees it paid).
pub fn of_checkout_for_update(
    conn: &mut DbConnection,
    checkout_id: &CheckoutId,
) -> QueryResult<Vec<Order>> {
    match conn {
        DbConnection::Postgres(pg) => orders::table
            .filter(orders::checkout_id.eq(checkout_id))
            .order(orders::id)
            .select(Order::as_select())
            .for_update()
            .load(pg),
        DbConnection::Sqlite(_) => of_checkout(conn, checkout_id),
    }
}

/// Locks an order's row (PostgreSQL) until the transaction ends, so that what a move reads of
/// it (its payment, above all) is what stands when it moves. SQLite's writers take turns anyway.
pub fn lock(conn: &mut DbConnection, id: &OrderId) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        orders::table
            .find(id)
            .select(orders::id)
            .for_update()
            .load::<OrderId>(pg)?;
    }
    Ok(())
}

/// Marks a checkout's orders that are still unpaid (and not cancelled) paid; returns the ones it
/// marked, as they are now. (In the transaction that holds the checkout's row.)
pub fn mark_checkout_paid(
    conn: &mut DbConnection,
    checkout_id: &CheckoutId,
) -> QueryResult<Vec<Order>> {
    let unpaid: Vec<OrderId> = orders::table
        .filter(orders::checkout_id.eq(checkout_id))
        .filter(orders::payment_status.eq(PaymentStatus::Unpaid))
        .filter(orders::status.ne(OrderStatus::Cancelled))
        .select(orders::id)
        .load(conn)?;
    diesel::update(
        orders::table
            .filter(orders::id.eq_any(&unpaid))
            .filter(orders::payment_status.eq(PaymentStatus::Unpaid))
            .filter(orders::status.ne(OrderStatus::Cancelled)),
    )
    .set(orders::payment_status.eq(PaymentStatus::Paid))
    .execute(conn)?;
    orders::table
        .filter(orders::id.eq_any(&unpaid))
        .order(orders::id)
        .select(Order::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &OrderId) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .select(Order::as_select())
        .first(conn)
        .optional()
}

/// The lines of these orders, in order.
pub fn items_of(conn: &mut DbConnection, order_ids: &[OrderId]) -> QueryResult<Vec<OrderItem>> {
    order_items::table
        .filter(order_items::order_id.eq_any(order_ids))
        .order((order_items::order_id, order_items::line_no))
        .select(OrderItem::as_select())
        .load(conn)
}

/// Applies a status move only if the order is still in one of `from`; returns rows changed
/// (0 means another move won, or the move was never allowed).
pub fn move_order(
    conn: &mut DbConnection,
    id: &OrderId,
    from: &[OrderStatus],
    change: &OrderMove,
) -> QueryResult<usize> {
    diesel::update(
        orders::table
            .filter(orders::id.eq(id))
            .filter(orders::status.eq_any(from)),
    )
    .set(change)
    .execute(conn)
}

pub fn find_idempotency(
    conn: &mut DbConnection,
    buyer_id: &UserId,
    key: &str,
) -> QueryResult<Option<IdempotencyRecord>> {
    idempotency_keys::table
        .find((buyer_id, key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()
}

pub fn insert_idempotency(conn: &mut DbConnection, record: &IdempotencyRecord) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values(record)
        .execute(conn)
        .map(|_| ())
}

/// Forgets keys older than `before`.
pub fn forget_idempotency_before(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
}

fn filtered(filter: &OrderFilter) -> orders::BoxedQuery<'static, MultiBackend> {
    let mut query = orders::table.into_boxed();
    if let Some(buyer_id) = &filter.buyer_id {
        query = query.filter(orders::buyer_id.eq(*buyer_id));
    }
    if let Some(owner_id) = &filter.household_owner_id {
        let owned = households::table
            .filter(households::owner_id.eq(owner_id.to_db()))
            .select(households::id);
        query = query.filter(orders::household_id.eq_any(owned));
    }
    if let Some(household_id) = &filter.household_id {
        query = query.filter(orders::household_id.eq(*household_id));
    }
    if let Some(status) = &filter.status {
        query = query.filter(orders::status.eq(*status));
    }
    if let Some(from) = filter.placed_from {
        query = query.filter(orders::placed_at.ge(from));
    }
    if let Some(before) = filter.placed_before {
        query = query.filter(orders::placed_at.lt(before));
    }
    query
}

/// One page, newest first, and the number of all matches.
pub fn list(
    conn: &mut DbConnection,
    filter: &OrderFilter,
    paging: Paging,
) -> QueryResult<(Vec<Order>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    if total == 0 {
        return Ok((Vec::new(), 0));
    }
    let rows = filtered(filter)
        .order((orders::placed_at.desc(), orders::id.desc()))
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(Order::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Many orders and their lines at once (imports), the fastest way each database has.
pub fn insert_many(
    conn: &mut DbConnection,
    headers: &[&Order],
    lines: &[&OrderItem],
) -> QueryResult<()> {
    crate::db::bulk_insert!(conn, orders::table, headers.to_vec())?;
    // Lines in chunks: a multi-row INSERT on SQLite binds every value of every row.
    for chunk in lines.chunks(3000) {
        crate::db::bulk_insert!(conn, order_items::table, chunk.to_vec())?;
    }
    Ok(())
}
