//! The statistics' own recomputation from the raw tables (households, products, orders, their
//! lines, product view days), for `nongsan rebuild-rollups` and its `--check`. It is the one place
//! where stats reads those tables' rows: it turns them into the very events the domains tell on
//! every write, and feeds them through the same [`StatsBatch`] functions, so a rebuild counts as
//! the live writes do. It reads the rows through the schema, not through the domains (which
//! depend on stats), so it names the few stored values that decide what counts; a test in
//! `cli` checks them against the domains' own constants.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::batch::StatsBatch;
use super::events::{HouseholdJoined, MoneyBooked, OrderLine, OrderPlaced, ProductListed};
use crate::db::DbConnection;

/// `households.status` of a household that counts in the totals.
pub const HOUSEHOLD_ACTIVE: &str = "active";
/// `products.status` of a product that no longer counts in the totals.
pub const PRODUCT_ARCHIVED: &str = "archived";
/// `orders.status` of an order that never counts.
pub const ORDER_CANCELLED: &str = "cancelled";
/// `orders.country_code` of an order that is not an export.
pub const HOME_COUNTRY: &str = "VN";

/// Recomputes every rollup from the raw tables into a batch (nothing is written).
pub fn recompute(conn: &mut DbConnection, timezone: chrono_tz::Tz) -> QueryResult<StatsBatch> {
    use crate::db::schema::{households, order_items, orders, product_view_days, products};
    let mut batch = StatsBatch::new(timezone);
    let joined: Vec<(String, NaiveDateTime, String)> = households::table
        .select((households::id, households::joined_at, households::status))
        .load(conn)?;
    for (household_id, joined_at, status) in joined {
        batch.household_joined(HouseholdJoined {
            household_id,
            joined_at,
            active: status == HOUSEHOLD_ACTIVE,
        });
    }
    let listed: Vec<(String, NaiveDateTime, String)> = products::table
        .select((products::id, products::created_at, products::status))
        .load(conn)?;
    for (product_id, created_at, status) in listed {
        batch.product_listed(ProductListed {
            product_id,
            created_at,
            active: status != PRODUCT_ARCHIVED,
        });
    }
    // Orders in pages, each with its lines, so memory stays bounded by the page.
    type OrderRow = (String, String, NaiveDateTime, String, i64, i64, i64);
    type LineRow = (String, String, String, i64, i64, i64);
    let mut after = String::new();
    loop {
        let page: Vec<OrderRow> = orders::table
            .filter(orders::id.gt(&after))
            .filter(orders::status.ne(ORDER_CANCELLED))
            .order(orders::id)
            .limit(5000)
            .select((
                orders::id,
                orders::household_id,
                orders::placed_at,
                orders::country_code,
                orders::total_vnd,
                orders::shipping_vnd,
                orders::total_weight_grams,
            ))
            .load(conn)?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        let ids: Vec<&String> = page.iter().map(|o| &o.0).collect();
        let mut lines: BTreeMap<String, Vec<OrderLine>> = BTreeMap::new();
        let rows: Vec<LineRow> = order_items::table
            .filter(order_items::order_id.eq_any(&ids))
            .select((
                order_items::order_id,
                order_items::product_id,
                order_items::product_category,
                order_items::quantity,
                order_items::unit_weight_grams,
                order_items::line_total_vnd,
            ))
            .load(conn)?;
        for (order_id, product_id, category, quantity, unit_weight_grams, line_total_vnd) in rows {
            lines.entry(order_id).or_default().push(OrderLine {
                product_id,
                category,
                quantity,
                unit_weight_grams,
                line_total_vnd,
            });
        }
        for (
            id,
            household_id,
            placed_at,
            country_code,
            total_vnd,
            shipping_vnd,
            total_weight_grams,
        ) in page
        {
            batch.order_placed(&OrderPlaced {
                household_id,
                placed_at,
                exported: country_code != HOME_COUNTRY,
                country_code,
                total_vnd,
                shipping_vnd,
                total_weight_grams,
                lines: lines.remove(&id).unwrap_or_default(),
            });
        }
    }
    money_booked(conn, &mut batch)?;
    let views: Vec<(NaiveDate, i64)> = product_view_days::table
        .select((product_view_days::day, product_view_days::views))
        .load(conn)?;
    for (day, count) in views {
        batch.views(day, count);
    }
    Ok(batch)
}

/// `ledger_lines.account` of the platform's commission.
pub const COMMISSION_ACCOUNT: &str = "commission";
/// `ledger_entries.kind` of a payout to a household.
pub const PAYOUT_ENTRY: &str = "payout";
/// `ledger_lines.account` of a household's account: this prefix and its id.
pub const HOUSEHOLD_ACCOUNT_PREFIX: &str = "household:";

/// The commission credited and the payouts debited per household entry, from the ledger's lines
/// (one line per delivered order or payout: bounded by the orders, read in pages).
fn money_booked(conn: &mut DbConnection, batch: &mut StatsBatch) -> QueryResult<()> {
    use crate::db::schema::{ledger_entries, ledger_lines};
    // (entry, line, household, booked at, entry kind, account, amount)
    type LedgerLineRow = (
        String,
        i32,
        Option<String>,
        NaiveDateTime,
        String,
        String,
        i64,
    );
    let household_accounts = format!("{HOUSEHOLD_ACCOUNT_PREFIX}%");
    let mut after = (String::new(), 0);
    loop {
        let page: Vec<LedgerLineRow> = ledger_lines::table
            .inner_join(ledger_entries::table)
            .filter(
                ledger_lines::account
                    .eq(COMMISSION_ACCOUNT)
                    .or(ledger_entries::kind
                        .eq(PAYOUT_ENTRY)
                        .and(ledger_lines::account.like(&household_accounts))),
            )
            .filter(
                ledger_lines::entry_id
                    .gt(&after.0)
                    .or(ledger_lines::entry_id
                        .eq(&after.0)
                        .and(ledger_lines::line_no.gt(after.1))),
            )
            .order((ledger_lines::entry_id, ledger_lines::line_no))
            .limit(5000)
            .select((
                ledger_lines::entry_id,
                ledger_lines::line_no,
                ledger_entries::household_id,
                ledger_entries::booked_at,
                ledger_entries::kind,
                ledger_lines::account,
                ledger_lines::amount_vnd,
            ))
            .load(conn)?;
        let Some(last) = page.last() else { break };
        after = (last.0.clone(), last.1);
        for (_, _, household_id, booked_at, kind, account, amount) in page {
            let Some(household_id) = household_id else {
                continue;
            };
            let payout = kind == PAYOUT_ENTRY && account != COMMISSION_ACCOUNT;
            batch.money_booked(MoneyBooked {
                household_id,
                booked_at,
                // The commission is credited (negative), a payout debits the household.
                commission_vnd: if payout { 0 } else { -amount },
                payout_vnd: if payout { amount } else { 0 },
            });
        }
    }
    Ok(())
}
