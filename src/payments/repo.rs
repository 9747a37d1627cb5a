//! The bank_transactions table: every bank-statement line we were told of.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::Outcome;
use crate::api::Paging;
use crate::db::DbConnection;
use crate::db::schema::bank_transactions;
use crate::ids::CheckoutId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bank_transactions)]
#[diesel(treat_none_as_default_value = false)]
pub struct BankTransaction {
    pub transaction_id: String,
    pub amount_vnd: i64,
    pub description: String,
    pub credited_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub checkout_id: Option<CheckoutId>,
    pub outcome: Outcome,
}

pub fn find(conn: &mut DbConnection, transaction_id: &str) -> QueryResult<Option<BankTransaction>> {
    bank_transactions::table
        .find(transaction_id)
        .select(BankTransaction::as_select())
        .first(conn)
        .optional()
}

/// Records a line; a second one with the same id fails on the key (its sender replays).
pub fn insert(conn: &mut DbConnection, line: &BankTransaction) -> QueryResult<()> {
    diesel::insert_into(bank_transactions::table)
        .values(line)
        .execute(conn)
        .map(|_| ())
}

/// Lines that paid no checkout as they stood, newest first, and their number.
pub fn unmatched(
    conn: &mut DbConnection,
    paging: Paging,
) -> QueryResult<(Vec<BankTransaction>, i64)> {
    let filtered = || {
        bank_transactions::table
            .filter(bank_transactions::outcome.ne(Outcome::Matched))
            .into_boxed()
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((
            bank_transactions::received_at.desc(),
            bank_transactions::transaction_id.desc(),
        ))
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(BankTransaction::as_select())
        .load(conn)?;
    Ok((rows, total))
}
