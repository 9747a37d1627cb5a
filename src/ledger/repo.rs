//! The ledger's tables: entries, their lines and each account's running balance.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Account, EntryKind, HOUSEHOLD_ACCOUNT_PREFIX, Posting};
use crate::api::Paging;
use crate::db::DbConnection;
use crate::db::schema::{ledger_balances, ledger_entries, ledger_lines, payout_lines, payouts};
use crate::db::sql::Sql;
use crate::ids::{CheckoutId, EntryId, HouseholdId, OrderId, PayoutId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries)]
#[diesel(treat_none_as_default_value = false)]
pub struct Entry {
    pub id: EntryId,
    pub kind: EntryKind,
    pub booked_at: NaiveDateTime,
    pub checkout_id: Option<CheckoutId>,
    pub order_id: Option<OrderId>,
    pub household_id: Option<HouseholdId>,
    pub payout_id: Option<PayoutId>,
    pub transaction_id: Option<String>,
}

/// Books the postings as one batch of entries (in the caller's transaction) and moves the
/// balances, each account once, in account order: two transactions booking at once wait for
/// each other instead of deadlocking. Refuses a posting that does not balance.
pub fn book(conn: &mut DbConnection, postings: &[Posting], now: NaiveDateTime) -> QueryResult<()> {
    let mut moves: BTreeMap<String, i64> = BTreeMap::new();
    for posting in postings {
        if !posting.is_balanced() {
            return Err(diesel::result::Error::QueryBuilderError(
                format!("an unbalanced {} entry", posting.kind).into(),
            ));
        }
        let entry = Entry {
            id: EntryId::generate(),
            kind: posting.kind,
            booked_at: now,
            checkout_id: posting.refs.checkout_id,
            order_id: posting.refs.order_id,
            household_id: posting.refs.household_id,
            payout_id: posting.refs.payout_id,
            transaction_id: posting.refs.transaction_id.clone(),
        };
        diesel::insert_into(ledger_entries::table)
            .values(&entry)
            .execute(conn)?;
        for (line_no, (account, amount)) in posting.lines.iter().enumerate() {
            let key = account.key();
            Sql::new(
                "INSERT INTO ledger_lines (entry_id, line_no, account, amount_vnd) VALUES ($1, $2, $3, $4)",
            )
            .bind(entry.id.to_db())
            .bind(line_no as i32 + 1)
            .bind(key.as_str())
            .bind(*amount)
            .execute(conn)?;
            let balance = moves.entry(key).or_default();
            *balance = balance
                .checked_add(*amount)
                .ok_or(crate::stats::CounterOverflow)?;
        }
    }
    for (account, amount) in moves {
        Sql::new(
            "INSERT INTO ledger_balances (account, balance_vnd) VALUES ($1, $2) \
             ON CONFLICT (account) DO UPDATE SET balance_vnd = ledger_balances.balance_vnd + excluded.balance_vnd",
        )
        .bind(account)
        .bind(amount)
        .execute(conn)?;
    }
    Ok(())
}

/// An account's balance (debits positive); 0 for an account nothing was booked on.
pub fn balance(conn: &mut DbConnection, account: &Account) -> QueryResult<i64> {
    Ok(ledger_balances::table
        .find(account.key())
        .select(ledger_balances::balance_vnd)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// A household account's entries, newest first, with the line's amount; and their number.
pub fn entries_of(
    conn: &mut DbConnection,
    account: &Account,
    paging: Paging,
) -> QueryResult<(Vec<(Entry, i64)>, i64)> {
    let key = account.key();
    let total = ledger_lines::table
        .filter(ledger_lines::account.eq(&key))
        .count()
        .get_result(conn)?;
    let rows = ledger_lines::table
        .inner_join(ledger_entries::table)
        .filter(ledger_lines::account.eq(&key))
        .order((ledger_entries::booked_at.desc(), ledger_entries::id.desc()))
        .limit(paging.per_page)
        .offset(paging.offset())
        .select((Entry::as_select(), ledger_lines::amount_vnd))
        .load(conn)?;
    Ok((rows, total))
}

/// Households the platform owes money (a credit balance), with what it owes each, in account
/// order, as they stand.
pub fn households_owed(conn: &mut DbConnection) -> QueryResult<Vec<(HouseholdId, i64)>> {
    owed(conn, false)
}

/// The same, to pay them: the `bank` account's row, then theirs, locked (PostgreSQL) until the
/// transaction ends, so that two payouts cannot pay one balance twice. `bank` first, as every
/// booking moves accounts in key order (`bank` < `household:…`): a payout and a delivery paid
/// in cash then wait for each other in turn, never in a circle.
pub fn households_owed_for_payout(conn: &mut DbConnection) -> QueryResult<Vec<(HouseholdId, i64)>> {
    Sql::new(
        "INSERT INTO ledger_balances (account, balance_vnd) VALUES ($1, 0) \
         ON CONFLICT (account) DO UPDATE SET balance_vnd = ledger_balances.balance_vnd",
    )
    .bind(Account::Bank.key())
    .execute(conn)?;
    owed(conn, true)
}

fn owed(conn: &mut DbConnection, lock: bool) -> QueryResult<Vec<(HouseholdId, i64)>> {
    let pattern = format!("{HOUSEHOLD_ACCOUNT_PREFIX}%");
    let query = ledger_balances::table
        .filter(ledger_balances::account.like(pattern))
        .filter(ledger_balances::balance_vnd.lt(0))
        .order(ledger_balances::account)
        .select((ledger_balances::account, ledger_balances::balance_vnd));
    let rows: Vec<(String, i64)> = match conn {
        DbConnection::Postgres(pg) if lock => query.for_update().load(pg)?,
        DbConnection::Postgres(pg) => query.load(pg)?,
        DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
    };
    Ok(rows
        .into_iter()
        .filter_map(|(account, balance)| {
            let id = HouseholdId::parse(account.strip_prefix(HOUSEHOLD_ACCOUNT_PREFIX)?)?;
            Some((id, balance.checked_neg()?))
        })
        .collect())
}

/// What `nongsan ledger check` finds wrong.
#[derive(Debug, Default)]
pub struct LedgerFaults {
    /// Entries whose lines do not sum to zero, with their sum.
    pub unbalanced: Vec<(String, i64)>,
    /// Accounts whose kept balance is not the sum of their lines: (account, kept, summed).
    pub drifted: Vec<(String, i64, i64)>,
    pub entries: i64,
    pub accounts: usize,
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// Recomputes every entry's sum and every account's balance from the lines.
pub fn check(conn: &mut DbConnection) -> QueryResult<LedgerFaults> {
    // Sums as 128-bit-safe numerics, compared in SQL; only the faulty rows come back.
    let unbalanced: Vec<Sum> = Sql::new(
        "SELECT entry_id AS key, CAST(SUM(amount_vnd) AS BIGINT) AS total FROM ledger_lines \
         GROUP BY entry_id HAVING SUM(amount_vnd) <> 0",
    )
    .load(conn)?;
    let sums: Vec<Sum> = Sql::new(
        "SELECT account AS key, CAST(SUM(amount_vnd) AS BIGINT) AS total FROM ledger_lines GROUP BY account",
    )
    .load(conn)?;
    let kept: BTreeMap<String, i64> = ledger_balances::table
        .select((ledger_balances::account, ledger_balances::balance_vnd))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let mut summed: BTreeMap<String, i64> = sums.into_iter().map(|s| (s.key, s.total)).collect();
    let mut drifted = Vec::new();
    for (account, balance) in &kept {
        let sum = summed.remove(account).unwrap_or(0);
        if sum != *balance {
            drifted.push((account.clone(), *balance, sum));
        }
    }
    for (account, sum) in summed {
        drifted.push((account, 0, sum));
    }
    let entries = ledger_entries::table.count().get_result(conn)?;
    Ok(LedgerFaults {
        unbalanced: unbalanced.into_iter().map(|s| (s.key, s.total)).collect(),
        drifted,
        entries,
        accounts: kept.len(),
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payouts)]
pub struct Payout {
    pub id: PayoutId,
    pub idempotency_key: String,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub total_vnd: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payout_lines)]
#[diesel(treat_none_as_default_value = false)]
pub struct PayoutLine {
    pub payout_id: PayoutId,
    pub household_id: HouseholdId,
    pub bank_bin: Option<String>,
    pub account: Option<String>,
    pub amount_vnd: i64,
    /// What the bank transfer's content says (`NSPAY`, the batch and the line).
    pub reference: String,
}

pub fn find_payout_by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Payout>> {
    payouts::table
        .filter(payouts::idempotency_key.eq(key))
        .select(Payout::as_select())
        .first(conn)
        .optional()
}

pub fn find_payout(conn: &mut DbConnection, id: &PayoutId) -> QueryResult<Option<Payout>> {
    payouts::table
        .find(id)
        .select(Payout::as_select())
        .first(conn)
        .optional()
}

/// Claims the batch's key (a concurrent twin fails on it and replays).
pub fn insert_payout(conn: &mut DbConnection, payout: &Payout) -> QueryResult<()> {
    diesel::insert_into(payouts::table)
        .values(payout)
        .execute(conn)
        .map(|_| ())
}

pub fn set_payout_total(conn: &mut DbConnection, id: &PayoutId, total: i64) -> QueryResult<()> {
    diesel::update(payouts::table.find(id))
        .set(payouts::total_vnd.eq(total))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_payout_lines(conn: &mut DbConnection, lines: &[PayoutLine]) -> QueryResult<()> {
    for line in lines {
        diesel::insert_into(payout_lines::table)
            .values(line)
            .execute(conn)?;
    }
    Ok(())
}

/// A batch's lines, in reference order.
pub fn payout_lines_of(conn: &mut DbConnection, id: &PayoutId) -> QueryResult<Vec<PayoutLine>> {
    payout_lines::table
        .filter(payout_lines::payout_id.eq(id))
        .order(payout_lines::reference)
        .select(PayoutLine::as_select())
        .load(conn)
}
