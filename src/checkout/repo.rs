//! The checkouts table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::CheckoutPayment;
use crate::db::DbConnection;
use crate::db::schema::checkouts;
use crate::ids::{CheckoutId, UserId};
use crate::orders::model::{OrderStatus, PaymentMethod};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = checkouts)]
#[diesel(treat_none_as_default_value = false)]
pub struct Checkout {
    pub id: CheckoutId,
    /// What the buyer writes in the bank transfer's content (`NS` and ten letters or digits).
    pub code: String,
    pub buyer_id: UserId,
    pub payment_method: PaymentMethod,
    pub payment_status: CheckoutPayment,
    pub goods_vnd: i64,
    pub shipping_vnd: i64,
    pub total_vnd: i64,
    pub created_at: NaiveDateTime,
    /// When an unpaid bank transfer is cancelled.
    pub expires_at: Option<NaiveDateTime>,
    pub paid_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, checkout: &Checkout) -> QueryResult<()> {
    diesel::insert_into(checkouts::table)
        .values(checkout)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &CheckoutId) -> QueryResult<Option<Checkout>> {
    checkouts::table
        .find(id)
        .select(Checkout::as_select())
        .first(conn)
        .optional()
}

/// The checkout a bank transfer's content names, its row locked (PostgreSQL) until the
/// transaction ends: a payment and an expiry of one checkout take turns.
pub fn find_by_code_for_update(
    conn: &mut DbConnection,
    code: &str,
) -> QueryResult<Option<Checkout>> {
    match conn {
        DbConnection::Postgres(pg) => checkouts::table
            .filter(checkouts::code.eq(code))
            .select(Checkout::as_select())
            .for_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(_) => checkouts::table
            .filter(checkouts::code.eq(code))
            .select(Checkout::as_select())
            .first(conn)
            .optional(),
    }
}

/// Moves an unpaid checkout to `to` (paid or expired); 0 when it is no longer unpaid: of an
/// expiry and a payment, or of two servers expiring it, exactly one changes it.
pub fn settle_unpaid(
    conn: &mut DbConnection,
    id: &CheckoutId,
    to: CheckoutPayment,
    paid_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    diesel::update(
        checkouts::table
            .filter(checkouts::id.eq(id))
            .filter(checkouts::payment_status.eq(CheckoutPayment::Unpaid)),
    )
    .set((
        checkouts::payment_status.eq(to),
        checkouts::paid_at.eq(paid_at),
    ))
    .execute(conn)
}

/// How many bank-transfer checkouts of this buyer are unpaid, not yet expired, and still hold an
/// order (one whose orders were all cancelled holds nothing).
pub fn unpaid_transfers_of(
    conn: &mut DbConnection,
    buyer_id: &UserId,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    use crate::db::schema::orders;
    checkouts::table
        .filter(checkouts::buyer_id.eq(buyer_id))
        .filter(checkouts::payment_method.eq(PaymentMethod::BankTransfer))
        .filter(checkouts::payment_status.eq(CheckoutPayment::Unpaid))
        .filter(checkouts::expires_at.gt(now))
        .filter(diesel::dsl::exists(
            orders::table
                .filter(orders::checkout_id.eq(checkouts::id.nullable()))
                .filter(orders::status.ne(OrderStatus::Cancelled)),
        ))
        .count()
        .get_result(conn)
}

/// Unpaid checkouts whose time ran out before `now`, oldest first.
pub fn expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<CheckoutId>> {
    checkouts::table
        .filter(checkouts::payment_status.eq(CheckoutPayment::Unpaid))
        .filter(checkouts::expires_at.lt(now))
        .order(checkouts::expires_at)
        .limit(limit)
        .select(checkouts::id)
        .load(conn)
}
