//! Who sees a household's ledger, payout batches, and the books' check.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::model::{Account, Posting};
use super::repo::{self, Entry, LedgerFaults, Payout, PayoutLine};
use crate::api::{Page, Paging};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::households::repo::{self as households, Household};
use crate::households::service::can_manage;
use crate::ids::{HouseholdId, PayoutId, from_path};
use crate::stats::StatsBatch;
use crate::time::now_utc;

/// How the books are kept: the platform's commission, and the time zone whose days the
/// statistics count bookings on.
#[derive(Debug, Clone, Copy)]
pub struct Books {
    /// Hundredths of a percent of the goods' value.
    pub commission_basis_points: i64,
    pub timezone: chrono_tz::Tz,
}

impl Books {
    pub fn of(ctx: &Context) -> Books {
        Books {
            commission_basis_points: ctx.settings.payments.commission_basis_points(),
            timezone: ctx.timezone,
        }
    }

    /// Books the postings (in the caller's transaction) and tells the statistics the commission
    /// and payouts among them, in the same transaction.
    pub fn book(
        &self,
        conn: &mut DbConnection,
        postings: &[Posting],
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        repo::book(conn, postings, now)?;
        let mut rollups = StatsBatch::new(self.timezone);
        for event in postings.iter().filter_map(|p| p.money_booked(now)) {
            rollups.money_booked(event);
        }
        if rollups.is_empty() {
            return Ok(());
        }
        rollups.write_at_commit(conn)
    }
}

/// A household's account: what the platform owes it now, and one page of its entries (each
/// with its amount as the household sees it: positive is owed to it, negative paid out).
pub struct HouseholdLedger {
    pub household: Household,
    pub balance_vnd: i64,
    pub entries: Page<(Entry, i64)>,
}

/// A household's ledger, for its owner and admins.
pub async fn household_ledger(
    ctx: &Context,
    caller: CurrentUser,
    id: &str,
    page: Option<i64>,
    per_page: Option<i64>,
) -> AppResult<HouseholdLedger> {
    let id = from_path(id, HouseholdId::parse, "household")?;
    let paging = Paging::checked(page, per_page)?;
    ctx.db
        .run(move |conn| {
            let household =
                households::find(conn, &id)?.ok_or_else(|| AppError::not_found("household"))?;
            if !can_manage(&caller, &household) {
                return Err(AppError::forbidden(
                    "a household's ledger is for its owner and admins",
                ));
            }
            let account = Account::Household(id);
            // Credits are negative in the books; the household reads what it is owed.
            let balance_vnd = repo::balance(conn, &account)?
                .checked_neg()
                .ok_or_else(AppError::value_out_of_range)?;
            let (rows, total) = repo::entries_of(conn, &account, paging)?;
            let rows = rows
                .into_iter()
                .map(|(entry, amount)| (entry, amount.saturating_neg()))
                .collect();
            Ok(HouseholdLedger {
                household,
                balance_vnd,
                entries: Page::new(rows, paging, total),
            })
        })
        .await
}

/// A payout batch with its lines (each with the household's name) and the households owed
/// money that it could not pay for want of a bank account (as they stand now).
pub struct PayoutBatch {
    pub payout: Payout,
    pub lines: Vec<(PayoutLine, String)>,
    pub without_account: Vec<(HouseholdId, String, i64)>,
}

/// Pays every household the platform owes that has a bank account, in one batch: one payout
/// entry each, debiting its balance. The same key again answers the same batch (`true`: a
/// replay) and pays nothing more.
pub async fn pay_out(
    ctx: &Context,
    caller: CurrentUser,
    key: Option<String>,
) -> AppResult<(PayoutBatch, bool)> {
    if !caller.is_admin() {
        return Err(AppError::forbidden("payouts are for admins"));
    }
    let key = key.ok_or_else(|| {
        AppError::invalid_field(
            "Idempotency-Key",
            "required: a retry with the same key must not pay twice",
        )
    })?;
    crate::validate::idempotency_key(&key)?;
    let replay_key = key.clone();
    let books = Books::of(ctx);
    let attempt = ctx
        .db
        .write(move |conn| pay_out_in_transaction(conn, &caller, &key, books))
        .await;
    let (id, replayed) = match attempt {
        Err(error) if error.is_already_exists() => {
            let found = ctx
                .db
                .run(move |conn| Ok(repo::find_payout_by_key(conn, &replay_key)?))
                .await?;
            (found.ok_or(error)?.id, true)
        }
        other => other?,
    };
    let batch = ctx.db.run(move |conn| batch(conn, &id)).await?;
    Ok((batch, replayed))
}

fn pay_out_in_transaction(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    key: &str,
    books: Books,
) -> AppResult<(PayoutId, bool)> {
    if let Some(done) = repo::find_payout_by_key(conn, key)? {
        return Ok((done.id, true));
    }
    let now = now_utc();
    let payout = Payout {
        id: PayoutId::generate(),
        idempotency_key: key.to_owned(),
        created_by: caller.id,
        created_at: now,
        total_vnd: 0,
    };
    repo::insert_payout(conn, &payout)?;
    let owed = repo::households_owed_for_payout(conn)?;
    let ids: Vec<HouseholdId> = owed.iter().map(|(id, _)| *id).collect();
    let accounts: HashMap<HouseholdId, (String, String)> = households::payout_accounts(conn, &ids)?
        .into_iter()
        .filter_map(|account| Some((account.household_id, account.bank()?)))
        .collect();
    let batch_mark = payout.id.0.simple().to_string()[..8].to_ascii_uppercase();
    let mut lines = Vec::new();
    let mut postings = Vec::new();
    let mut total: i64 = 0;
    for (household_id, amount) in owed {
        let Some((bin, account)) = accounts.get(&household_id).cloned() else {
            continue;
        };
        lines.push(PayoutLine {
            payout_id: payout.id,
            household_id,
            bank_bin: Some(bin),
            account: Some(account),
            amount_vnd: amount,
            reference: format!("NSPAY {batch_mark} {:04}", lines.len() + 1),
        });
        postings.push(Posting::payout(payout.id, household_id, amount));
        total = total
            .checked_add(amount)
            .ok_or_else(AppError::value_out_of_range)?;
    }
    repo::insert_payout_lines(conn, &lines)?;
    books.book(conn, &postings, now)?;
    repo::set_payout_total(conn, &payout.id, total)?;
    Ok((payout.id, false))
}

fn batch(conn: &mut DbConnection, id: &PayoutId) -> AppResult<PayoutBatch> {
    let payout = repo::find_payout(conn, id)?.ok_or_else(|| AppError::not_found("payout"))?;
    let lines = repo::payout_lines_of(conn, id)?;
    let owed = repo::households_owed(conn)?;
    let mut ids: Vec<HouseholdId> = lines.iter().map(|l| l.household_id).collect();
    ids.extend(owed.iter().map(|(id, _)| *id));
    let accounts: HashMap<HouseholdId, (String, bool)> = households::payout_accounts(conn, &ids)?
        .into_iter()
        .map(|account| {
            let has = account.bank().is_some();
            (account.household_id, (account.name, has))
        })
        .collect();
    let name = |id: &HouseholdId| accounts.get(id).map(|(n, _)| n.clone()).unwrap_or_default();
    let without_account = owed
        .iter()
        .filter(|(id, _)| !accounts.get(id).is_some_and(|(_, has)| *has))
        .map(|(id, amount)| (*id, name(id), *amount))
        .collect();
    let lines = lines
        .into_iter()
        .map(|line| {
            let household = name(&line.household_id);
            (line, household)
        })
        .collect();
    Ok(PayoutBatch {
        payout,
        lines,
        without_account,
    })
}

/// One payout batch (admins).
pub async fn payout(ctx: &Context, caller: CurrentUser, id: &str) -> AppResult<PayoutBatch> {
    if !caller.is_admin() {
        return Err(AppError::forbidden("payouts are for admins"));
    }
    let id = from_path(id, PayoutId::parse, "payout")?;
    ctx.db.run(move |conn| batch(conn, &id)).await
}

/// `nongsan ledger check`: every entry balances and every kept balance is its lines' sum.
pub fn check(conn: &mut DbConnection) -> AppResult<LedgerFaults> {
    Ok(repo::check(conn)?)
}
