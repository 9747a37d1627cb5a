//! Household queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::HouseholdStatus;
use crate::api::Paging;
use crate::db::schema::{households, households_suspended_with_owner};
use crate::db::{DbConnection, MultiBackend};
use crate::ids::{HouseholdId, UserId};
use crate::search::like_pattern;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = households)]
// NULL, not DEFAULT, for None: what bulk inserts (PostgreSQL COPY) need; no nullable column has a default.
#[diesel(treat_none_as_default_value = false)]
pub struct Household {
    pub id: HouseholdId,
    pub owner_id: Option<UserId>,
    pub name: String,
    pub province_code: String,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub status: HouseholdStatus,
    pub search_text: String,
    pub joined_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// On the current map, when given.
    pub commune_code: Option<String>,
    /// On the current map (`province_code` is on the 2008 one); set on every row.
    pub current_province_code: Option<String>,
    /// Where payouts go: the bank's NAPAS BIN and the account number (both or neither).
    pub payout_bank_bin: Option<String>,
    pub payout_account: Option<String>,
    /// A parcel with goods worth at least this ships free.
    pub free_shipping_from_vnd: Option<i64>,
}

/// Columns a PATCH may change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = households)]
pub struct HouseholdChanges {
    pub name: Option<String>,
    pub province_code: Option<String>,
    pub district: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub status: Option<HouseholdStatus>,
    pub search_text: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    pub commune_code: Option<Option<String>>,
    pub current_province_code: Option<Option<String>>,
    pub payout_bank_bin: Option<Option<String>>,
    pub payout_account: Option<Option<String>>,
    pub free_shipping_from_vnd: Option<Option<i64>>,
}

#[derive(Debug, Default)]
pub struct HouseholdFilter {
    /// On the 2008 map.
    pub province_code: Option<String>,
    /// On the current map.
    pub current_province_code: Option<String>,
    /// Folded search words; each must occur.
    pub words: Vec<String>,
    /// `None`: every status (admins); otherwise only this one.
    pub status: Option<HouseholdStatus>,
    pub owner_id: Option<UserId>,
}

pub fn insert(conn: &mut DbConnection, household: &Household) -> QueryResult<()> {
    diesel::insert_into(households::table)
        .values(household)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &HouseholdId) -> QueryResult<Option<Household>> {
    households::table
        .find(id)
        .select(Household::as_select())
        .first(conn)
        .optional()
}

/// A household read to be changed, its row locked on PostgreSQL until the transaction ends
/// (SQLite's writers take turns anyway).
pub fn find_for_update(
    conn: &mut DbConnection,
    id: &HouseholdId,
) -> QueryResult<Option<Household>> {
    match conn {
        DbConnection::Postgres(pg) => households::table
            .find(id)
            .select(Household::as_select())
            .for_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(_) => find(conn, id),
    }
}

pub fn update(
    conn: &mut DbConnection,
    id: &HouseholdId,
    changes: &HouseholdChanges,
) -> QueryResult<usize> {
    diesel::update(households::table.find(id))
        .set(changes)
        .execute(conn)
}

fn filtered(filter: &HouseholdFilter) -> households::BoxedQuery<'static, MultiBackend> {
    let mut query = households::table.into_boxed();
    if let Some(code) = &filter.province_code {
        query = query.filter(households::province_code.eq(code.clone()));
    }
    if let Some(code) = &filter.current_province_code {
        query = query.filter(households::current_province_code.eq(code.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(households::status.eq(*status));
    }
    if let Some(owner_id) = &filter.owner_id {
        query = query.filter(households::owner_id.eq(*owner_id));
    }
    for word in &filter.words {
        query = query.filter(
            households::search_text
                .like(like_pattern(word))
                .escape('\\'),
        );
    }
    query
}

/// One page, newest first, and the number of all matches.
pub fn list(
    conn: &mut DbConnection,
    filter: &HouseholdFilter,
    paging: Paging,
) -> QueryResult<(Vec<Household>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let rows = filtered(filter)
        .order((households::created_at.desc(), households::id.desc()))
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(Household::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// An owner's households with this status.
pub fn owned_with_status(
    conn: &mut DbConnection,
    owner_id: &UserId,
    status: HouseholdStatus,
) -> QueryResult<Vec<Household>> {
    households::table
        .filter(households::owner_id.eq(owner_id))
        .filter(households::status.eq(status))
        .select(Household::as_select())
        .load(conn)
}

pub fn owner_has_status(
    conn: &mut DbConnection,
    owner_id: &UserId,
    status: HouseholdStatus,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        households::table
            .filter(households::owner_id.eq(owner_id))
            .filter(households::status.eq(status)),
    ))
    .get_result(conn)
}

/// Which of `owners` own a household of `status`.
pub fn owners_with_status(
    conn: &mut DbConnection,
    owners: &[UserId],
    status: HouseholdStatus,
) -> QueryResult<Vec<UserId>> {
    households::table
        .filter(households::owner_id.eq_any(owners))
        .filter(households::status.eq(status))
        .select(households::owner_id.assume_not_null())
        .distinct()
        .load(conn)
}

/// Records that `household_id` was suspended along with its owner's account.
pub fn remember_suspended_with_owner(
    conn: &mut DbConnection,
    household_id: &HouseholdId,
    owner_id: &UserId,
) -> QueryResult<()> {
    diesel::insert_into(households_suspended_with_owner::table)
        .values((
            households_suspended_with_owner::household_id.eq(household_id),
            households_suspended_with_owner::owner_id.eq(owner_id),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The households suspended along with `owner_id`'s account, forgetting them.
pub fn take_suspended_with_owner(
    conn: &mut DbConnection,
    owner_id: &UserId,
) -> QueryResult<Vec<Household>> {
    let rows = households::table
        .inner_join(
            households_suspended_with_owner::table
                .on(households_suspended_with_owner::household_id.eq(households::id)),
        )
        .filter(households_suspended_with_owner::owner_id.eq(owner_id))
        .select(Household::as_select())
        .load(conn)?;
    diesel::delete(
        households_suspended_with_owner::table
            .filter(households_suspended_with_owner::owner_id.eq(owner_id)),
    )
    .execute(conn)?;
    Ok(rows)
}

/// An admin set this household's status by hand: that decision stands over the account's.
pub fn forget_suspended_with_owner(
    conn: &mut DbConnection,
    household_id: &HouseholdId,
) -> QueryResult<usize> {
    diesel::delete(households_suspended_with_owner::table.find(household_id)).execute(conn)
}

/// True when there is no household at all (the demo loads only into an empty database).
pub fn none_yet(conn: &mut DbConnection) -> QueryResult<bool> {
    Ok(households::table.count().get_result::<i64>(conn)? == 0)
}

/// The provinces of each of these households that exists (id, 2008 province, current province).
pub fn provinces_of(
    conn: &mut DbConnection,
    ids: &[HouseholdId],
) -> QueryResult<Vec<(HouseholdId, String, Option<String>)>> {
    households::table
        .filter(households::id.eq_any(ids))
        .select((
            households::id,
            households::province_code,
            households::current_province_code,
        ))
        .load(conn)
}

/// Many households at once (imports), the fastest way each database has.
pub fn insert_many(conn: &mut DbConnection, rows: &[Household]) -> QueryResult<usize> {
    crate::db::bulk_insert!(conn, households::table, rows)
}

/// Where a household's payouts go, if it has said.
#[derive(Debug, Clone, Queryable)]
pub struct PayoutAccount {
    pub household_id: HouseholdId,
    pub name: String,
    pub bank_bin: Option<String>,
    pub account_number: Option<String>,
}

impl PayoutAccount {
    /// The bank and the account, when both are known.
    pub fn bank(&self) -> Option<(String, String)> {
        Some((self.bank_bin.clone()?, self.account_number.clone()?))
    }
}

/// Where these households' payouts go.
pub fn payout_accounts(
    conn: &mut DbConnection,
    ids: &[HouseholdId],
) -> QueryResult<Vec<PayoutAccount>> {
    households::table
        .filter(households::id.eq_any(ids))
        .select((
            households::id,
            households::name,
            households::payout_bank_bin,
            households::payout_account,
        ))
        .load(conn)
}
