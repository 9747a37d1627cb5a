//! Receiving the bank's notifications: find the checkout by its code, judge the amount, pay the
//! orders or hold the money for an admin, and book it either way.

use super::model::{Credit, Outcome};
use super::repo::{self, BankTransaction};
use crate::api::{Page, Paging};
use crate::auth::CurrentUser;
use crate::checkout::model::{CheckoutPayment, amount_due, code_in};
use crate::checkout::repo::{self as checkouts, Checkout};
use crate::context::Context;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ledger::model::Posting;
use crate::ledger::service::Books;
use crate::orders::model::PaymentMethod;
use crate::orders::repo as orders;
use crate::orders::service::paid_by_transfer;
use crate::time::now_utc;

/// A bank-statement line as recorded, and whether it had been already (a replay).
#[derive(Debug, Clone)]
pub struct Received {
    pub line: BankTransaction,
    pub replayed: bool,
}

/// Records a bank-statement line and what it pays. The same `transaction_id` again changes
/// nothing and answers what the first one did.
pub async fn receive(ctx: &Context, credit: Credit) -> AppResult<Received> {
    let books = Books::of(ctx);
    let transaction_id = credit.transaction_id.clone();
    let attempt = ctx
        .db
        .write(move |conn| receive_in_transaction(conn, &credit, books))
        .await;
    match attempt {
        // The same line twice at once: the second waited on the first's key, which is there now.
        Err(error) if error.is_already_exists() => {
            let line = ctx
                .db
                .run(move |conn| Ok(repo::find(conn, &transaction_id)?))
                .await?
                .ok_or(error)?;
            Ok(Received {
                line,
                replayed: true,
            })
        }
        other => other,
    }
}

fn receive_in_transaction(
    conn: &mut DbConnection,
    credit: &Credit,
    books: Books,
) -> AppResult<Received> {
    if let Some(line) = repo::find(conn, &credit.transaction_id)? {
        return Ok(Received {
            line,
            replayed: true,
        });
    }
    let now = now_utc();
    let checkout = match code_in(&credit.description) {
        Some(code) => checkouts::find_by_code_for_update(conn, &code)?,
        None => None,
    };
    let outcome = match &checkout {
        None => Outcome::Unknown,
        Some(checkout) => judge(conn, checkout, credit.amount_vnd)?,
    };
    let line = BankTransaction {
        transaction_id: credit.transaction_id.clone(),
        amount_vnd: credit.amount_vnd,
        description: credit.description.clone(),
        credited_at: credit.credited_at,
        received_at: now,
        checkout_id: checkout.as_ref().map(|c| c.id),
        outcome,
    };
    repo::insert(conn, &line)?;
    match (&checkout, outcome) {
        (Some(checkout), Outcome::Matched) => {
            if checkouts::settle_unpaid(conn, &checkout.id, CheckoutPayment::Paid, Some(now))? != 1
            {
                // The row is held by this transaction and was unpaid a moment ago.
                return Err(AppError::Unavailable(
                    "the checkout changed while its payment was recorded; the bank may retry"
                        .into(),
                ));
            }
            let payment =
                Posting::payment_received(checkout.id, &line.transaction_id, line.amount_vnd);
            books.book(conn, &[payment], now)?;
            paid_by_transfer(conn, &checkout.id, now, books)?;
        }
        _ => {
            let held =
                Posting::unmatched_receipt(line.checkout_id, &line.transaction_id, line.amount_vnd);
            books.book(conn, &[held], now)?;
        }
    }
    Ok(Received {
        line,
        replayed: false,
    })
}

/// What `amount` does to a checkout: pays it exactly, or not (and why). What an unpaid checkout
/// asks is its orders' goods and shipping, less any the buyer cancelled before paying; a
/// cash-on-delivery one asks nothing by transfer, so any is `over`.
fn judge(conn: &mut DbConnection, checkout: &Checkout, amount: i64) -> AppResult<Outcome> {
    // Cash on delivery asks nothing by transfer: the carrier collects it.
    if checkout.payment_method == PaymentMethod::Cod {
        return Ok(Outcome::Over);
    }
    Ok(match checkout.payment_status {
        CheckoutPayment::Expired => Outcome::Late,
        CheckoutPayment::Paid => Outcome::Over,
        CheckoutPayment::Unpaid => {
            // Locked: an order cancelled or delivered meanwhile is judged as it then stands.
            let due = amount_due(&orders::of_checkout_for_update(conn, &checkout.id)?);
            match amount.cmp(&due) {
                _ if due == 0 => Outcome::Over,
                std::cmp::Ordering::Equal => Outcome::Matched,
                std::cmp::Ordering::Less => Outcome::Short,
                std::cmp::Ordering::Greater => Outcome::Over,
            }
        }
    })
}

/// Bank-statement lines that paid no checkout as they stood, newest first (admins).
pub async fn unmatched(
    ctx: &Context,
    caller: &CurrentUser,
    page: Option<i64>,
    per_page: Option<i64>,
) -> AppResult<Page<BankTransaction>> {
    if !caller.is_admin() {
        return Err(AppError::forbidden("unmatched payments are for admins"));
    }
    let paging = Paging::checked(page, per_page)?;
    ctx.db
        .run(move |conn| {
            let (rows, total) = repo::unmatched(conn, paging)?;
            Ok(Page::new(rows, paging, total))
        })
        .await
}
