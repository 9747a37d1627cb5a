//! Order rules: the status moves and who may make them, what each move books, and who sees
//! which orders. (Placing orders belongs to checkouts.)

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::model::{OrderSearch, OrderStatus, OrderWithItems, PaymentMethod, PaymentStatus};
use super::repo::{self, Order, OrderFilter, OrderItem, OrderMove};
use crate::api::{Page, Paging};
use crate::auth::{CurrentUser, Role};
use crate::context::Context;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{CheckoutId, HouseholdId, OrderId, from_path};
use crate::ledger::model::{OrderMoney, Posting};
use crate::ledger::service::Books;
use crate::stats::StatsBatch;
use crate::time::{day_start_utc, now_utc};
use crate::validate::{self, Problems};

pub const REASON_MAX_CHARS: usize = 500;
pub const TRACKING_CODE_MAX_CHARS: usize = 100;

/// How the caller stands to an order.
struct Relation {
    buyer: bool,
    owner: bool,
    admin: bool,
}

fn relation(conn: &mut DbConnection, caller: &CurrentUser, order: &Order) -> AppResult<Relation> {
    let owner = match crate::households::repo::find(conn, &order.household_id)? {
        Some(household) => household.owner_id == Some(caller.id),
        None => false,
    };
    Ok(Relation {
        buyer: order.buyer_id == Some(caller.id),
        owner,
        admin: caller.is_admin(),
    })
}

/// An order the caller may see, with how they stand to it; else 404.
fn visible_order(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    id: &OrderId,
) -> AppResult<(Order, Relation)> {
    let order = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("order"))?;
    let relation = relation(conn, caller, &order)?;
    if relation.buyer || relation.owner || relation.admin {
        Ok((order, relation))
    } else {
        Err(AppError::not_found("order"))
    }
}

pub async fn get(ctx: &Context, caller: CurrentUser, id: &str) -> AppResult<OrderWithItems> {
    let id = from_path(id, OrderId::parse, "order")?;
    ctx.db
        .run(move |conn| {
            let (order, _) = visible_order(conn, &caller, &id)?;
            let items = repo::items_of(conn, std::slice::from_ref(&order.id))?;
            Ok(OrderWithItems { order, items })
        })
        .await
}

/// A status move: confirm, ship, deliver or cancel.
#[derive(Debug)]
pub enum Move {
    Confirm,
    Ship { tracking_code: Option<String> },
    Deliver,
    Cancel { reason: Option<String> },
}

impl Move {
    fn verb(&self) -> &'static str {
        match self {
            Move::Confirm => "confirm",
            Move::Ship { .. } => "ship",
            Move::Deliver => "deliver",
            Move::Cancel { .. } => "cancel",
        }
    }

    /// The statuses this caller may make this move from; empty when they may not make it at all.
    fn allowed_from(&self, relation: &Relation) -> Vec<OrderStatus> {
        use OrderStatus::{Confirmed, Placed, Shipped};
        let mut from = Vec::new();
        match self {
            Move::Confirm if relation.owner => from.push(Placed),
            Move::Ship { .. } if relation.owner => from.push(Confirmed),
            Move::Deliver if relation.owner || relation.buyer || relation.admin => {
                from.push(Shipped)
            }
            Move::Cancel { .. } => {
                if relation.buyer {
                    from.push(Placed);
                }
                if relation.owner {
                    from.extend([Placed, Confirmed]);
                }
                if relation.admin {
                    from.extend([Placed, Confirmed, Shipped]);
                }
            }
            _ => {}
        }
        from.sort();
        from.dedup();
        from
    }

    /// What the move writes: the new status, when it was reached, and what comes with it.
    fn change(&self, order: &Order, now: NaiveDateTime) -> OrderMove {
        let mut change = OrderMove::default();
        match self {
            Move::Confirm => {
                change.status = Some(OrderStatus::Confirmed);
                change.confirmed_at = Some(now);
            }
            Move::Ship { tracking_code } => {
                change.status = Some(OrderStatus::Shipped);
                change.shipped_at = Some(now);
                change.tracking_code = tracking_code.clone();
            }
            Move::Deliver => {
                change.status = Some(OrderStatus::Delivered);
                change.delivered_at = Some(now);
                // Cash on delivery is paid now; a transfer keeps what it was.
                change.payment_status =
                    (order.payment_method == PaymentMethod::Cod).then_some(PaymentStatus::Paid);
            }
            Move::Cancel { reason } => return OrderMove::cancel(now, reason.clone()),
        }
        change
    }
}

pub async fn make_move(
    ctx: &Context,
    caller: CurrentUser,
    id: &str,
    requested: Move,
) -> AppResult<OrderWithItems> {
    let id = from_path(id, OrderId::parse, "order")?;
    let mut problems = Problems::new();
    let mut note = |field, text: Option<String>, max| {
        let checked = validate::optional_text(field, text.as_deref(), max);
        problems.check(checked).flatten()
    };
    let requested = match requested {
        Move::Ship { tracking_code } => Move::Ship {
            tracking_code: note("tracking_code", tracking_code, TRACKING_CODE_MAX_CHARS),
        },
        Move::Cancel { reason } => Move::Cancel {
            reason: note("reason", reason, REASON_MAX_CHARS),
        },
        other => other,
    };
    problems.finish()?;
    let books = Books::of(ctx);
    ctx.db
        .write(move |conn| {
            // Locked before it is read: a payment of its checkout either is done (and
            // this move sees the order paid) or waits for this move.
            repo::lock(conn, &id)?;
            let (order, relation) = visible_order(conn, &caller, &id)?;
            let from = requested.allowed_from(&relation);
            if from.is_empty() {
                return Err(AppError::forbidden(format!(
                    "you may not {} this order",
                    requested.verb()
                )));
            }
            let now = now_utc();
            let change = requested.change(&order, now);
            // Conditional on the status: of two concurrent moves exactly one changes the row.
            if repo::move_order(conn, &order.id, &from, &change)? == 0 {
                let current = repo::find(conn, &order.id)?.map_or(order.status, |o| o.status);
                return Err(AppError::conflict(
                    "invalid_transition",
                    format!("cannot {} an order that is {current}", requested.verb()),
                ));
            }
            let items = repo::items_of(conn, std::slice::from_ref(&order.id))?;
            match requested {
                Move::Cancel { .. } => after_cancel(conn, &[(&order, &items)], now, books)?,
                Move::Deliver => after_delivery(conn, &order, now, books)?,
                _ => {}
            }
            let order = repo::find(conn, &order.id)?.ok_or_else(|| AppError::not_found("order"))?;
            Ok(OrderWithItems { order, items })
        })
        .await
}

/// What cancelled orders undo, in the cancelling transaction: their stock goes back (every
/// product in id order, as stock is taken, so that a cancel and a checkout never wait for each
/// other in a circle), they stop counting in the statistics of the day they were placed, and
/// paid ones are owed back to their buyers.
fn after_cancel(
    conn: &mut DbConnection,
    cancelled: &[(&Order, &[OrderItem])],
    now: NaiveDateTime,
    books: Books,
) -> AppResult<()> {
    // Imported history took no stock, so its cancel returns none.
    let mut lines: Vec<&OrderItem> = cancelled
        .iter()
        .filter(|(order, _)| order.stock_taken)
        .flat_map(|(_, items)| items.iter())
        .collect();
    lines.sort_by_key(|item| item.product_id);
    for item in lines {
        crate::products::repo::return_stock(conn, &item.product_id, item.quantity, now)?;
    }
    let mut rollups = StatsBatch::new(books.timezone);
    for (order, items) in cancelled {
        rollups.order_cancelled(&order.counted(items));
    }
    rollups.write_at_commit(conn)?;
    let refunds: Vec<Posting> = cancelled
        .iter()
        .filter(|(order, _)| order.payment_status == PaymentStatus::Paid)
        .map(|(order, _)| Posting::refund_owed(&money(order)))
        .collect();
    books.book(conn, &refunds, now)?;
    Ok(())
}

/// What a delivery books: cash on delivery is collected now; a paid order's household share,
/// commission and shipping become payable (an unpaid transfer's, when its money arrives).
fn after_delivery(
    conn: &mut DbConnection,
    order: &Order,
    now: NaiveDateTime,
    books: Books,
) -> AppResult<()> {
    let commission_basis_points = books.commission_basis_points;
    let money = money(order);
    let postings = match (order.payment_method, order.payment_status) {
        (PaymentMethod::Cod, _) => vec![
            Posting::cash_on_delivery(&money),
            Posting::share_payable(&money, commission_basis_points),
        ],
        (PaymentMethod::BankTransfer, PaymentStatus::Paid) => {
            vec![Posting::share_payable(&money, commission_basis_points)]
        }
        _ => Vec::new(),
    };
    books.book(conn, &postings, now)?;
    Ok(())
}

/// An order's money as the ledger books it.
fn money(order: &Order) -> OrderMoney {
    OrderMoney {
        order_id: order.id,
        checkout_id: order.checkout_id,
        household_id: order.household_id,
        goods_vnd: order.total_vnd,
        shipping_vnd: order.shipping_vnd,
    }
}

/// Marks a checkout's unpaid orders paid now that its transfer arrived (in the transaction that
/// holds the checkout), booking the share of those already delivered.
pub fn paid_by_transfer(
    conn: &mut DbConnection,
    checkout_id: &CheckoutId,
    now: NaiveDateTime,
    books: Books,
) -> AppResult<()> {
    let paid = repo::mark_checkout_paid(conn, checkout_id)?;
    let postings: Vec<Posting> = paid
        .iter()
        .filter(|order| order.status == OrderStatus::Delivered)
        .map(|order| Posting::share_payable(&money(order), books.commission_basis_points))
        .collect();
    books.book(conn, &postings, now)?;
    Ok(())
}

/// Cancels a checkout's orders that have not left the farm (placed or confirmed) because its
/// transfer never came, returning their stock (in the transaction that expired the checkout).
pub fn cancel_unpaid_checkout(
    conn: &mut DbConnection,
    checkout_id: &CheckoutId,
    now: NaiveDateTime,
    books: Books,
) -> AppResult<usize> {
    let change = OrderMove::cancel(now, Some(UNPAID_REASON.to_owned()));
    let mut cancelled = Vec::new();
    for order in repo::of_checkout(conn, checkout_id)? {
        let from = [OrderStatus::Placed, OrderStatus::Confirmed];
        if repo::move_order(conn, &order.id, &from, &change)? == 1 {
            let items = repo::items_of(conn, std::slice::from_ref(&order.id))?;
            cancelled.push((order, items));
        }
    }
    let borrowed: Vec<(&Order, &[OrderItem])> = cancelled
        .iter()
        .map(|(order, items)| (order, items.as_slice()))
        .collect();
    after_cancel(conn, &borrowed, now, books)?;
    Ok(cancelled.len())
}

/// Why an expired checkout's orders were cancelled.
pub const UNPAID_REASON: &str = "the bank transfer did not arrive in time";

pub async fn list(
    ctx: &Context,
    caller: CurrentUser,
    search: &OrderSearch,
) -> AppResult<Page<OrderWithItems>> {
    let mut problems = Problems::new();
    let paging = Paging::parse(search.page, search.per_page, &mut problems.0);
    let status = search
        .status
        .as_deref()
        .and_then(|s| problems.check(OrderStatus::parse_field("status", s)));
    let household_id = search.household_id.as_deref().and_then(|id| {
        let parsed = HouseholdId::parse(id);
        if parsed.is_none() {
            problems.add("household_id", "must be a household id");
        }
        parsed
    });
    let from = validate::query_day(&mut problems, "from", search.from.as_deref(), false);
    let to = validate::query_day(&mut problems, "to", search.to.as_deref(), false);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        problems.add("to", "must not be before from");
    }
    problems.finish()?;
    let tz = ctx.timezone;
    let filter = OrderFilter {
        buyer_id: (caller.role == Role::Buyer).then_some(caller.id),
        household_owner_id: (caller.role == Role::Farmer).then_some(caller.id),
        household_id,
        status,
        placed_from: from.map(|d| day_start_utc(d, tz)),
        placed_before: to.and_then(|d| d.succ_opt()).map(|d| day_start_utc(d, tz)),
    };
    ctx.db
        .run(move |conn| {
            let (orders, total) = repo::list(conn, &filter, paging)?;
            let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
            let mut items_by_order: HashMap<OrderId, Vec<OrderItem>> = HashMap::new();
            for item in repo::items_of(conn, &ids)? {
                items_by_order.entry(item.order_id).or_default().push(item);
            }
            let views = orders
                .into_iter()
                .map(|order| {
                    let items = items_by_order.remove(&order.id).unwrap_or_default();
                    OrderWithItems { order, items }
                })
                .collect();
            Ok(Page::new(views, paging, total))
        })
        .await
}
