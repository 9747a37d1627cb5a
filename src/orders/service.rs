//! Order rules: placing (all stock or none, idempotent retries), the status moves and who may
//! make them, and who sees which orders.

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use sha2::{Digest, Sha256};

use super::model::{
    OrderDraft, OrderInput, OrderSearch, OrderSource, OrderStatus, OrderWithItems, PaymentMethod,
    PaymentStatus, Placement,
};
use super::repo::{self, IdempotencyRecord, Order, OrderFilter, OrderItem, OrderMove};
use crate::api::{Page, Paging};
use crate::auth::{CurrentUser, Role};
use crate::context::Context;
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult, FieldError};
use crate::households::model::HouseholdStatus;
use crate::ids::{HouseholdId, OrderId, ProductId, from_path};
use crate::products::model::ProductStatus;
use crate::products::repo::ProductSnapshot;
use crate::provinces::AdminMap;
use crate::stats::StatsBatch;
use crate::time::{day_start_utc, now_utc};
use crate::validate::{self, Problems};

pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;
pub const REASON_MAX_CHARS: usize = 500;
pub const TRACKING_CODE_MAX_CHARS: usize = 100;

/// How long an Idempotency-Key is remembered.
pub fn idempotency_window() -> Duration {
    Duration::hours(24)
}

/// What placing an order answered: a new order, or the one a repeated key stands for.
pub enum Placed {
    Created(OrderWithItems),
    Replayed(OrderWithItems),
}

/// A buyer's order: its lines name products by id, whose stock is taken when it is placed.
type BuyerDraft = OrderDraft<ProductId>;

fn parse_order(input: &OrderInput<'_>, map: &AdminMap) -> (BuyerDraft, Problems) {
    let mut problems = Problems::new();
    let draft = OrderDraft::parse(
        &mut problems,
        input,
        OrderSource::Buyer,
        map,
        |id| ProductId::parse(id).ok_or("must be a product id"),
        |id| *id,
    );
    (draft, problems)
}

/// `Idempotency-Key`: 1..=255 visible characters.
pub fn check_idempotency_key(key: &str) -> AppResult<()> {
    let length = key.chars().count();
    if (1..=IDEMPOTENCY_KEY_MAX_CHARS).contains(&length) && !key.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "Idempotency-Key",
            "must be 1 to 255 characters without control characters",
        ))
    }
}

fn request_hash(input: &OrderInput<'_>) -> String {
    // The parsed request, re-serialised: the same JSON with other spacing or key order is the same body.
    let canonical = serde_json::to_vec(input).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))
}

fn key_reused() -> AppError {
    AppError::unprocessable(
        "idempotency_key_reused",
        "this Idempotency-Key was already used with a different request body",
    )
}

pub async fn place(
    ctx: &Context,
    caller: CurrentUser,
    idempotency_key: Option<String>,
    input: OrderInput<'_>,
) -> AppResult<Placed> {
    if caller.role != Role::Buyer {
        return Err(AppError::forbidden("only buyers place orders"));
    }
    if let Some(key) = &idempotency_key {
        check_idempotency_key(key)?;
    }
    let hash = request_hash(&input);
    let (draft, problems) = parse_order(&input, &ctx.map);
    let timezone = ctx.timezone;
    let placed = {
        let (caller, key, hash) = (caller.clone(), idempotency_key.clone(), hash.clone());
        ctx.db
            .write(move |conn| {
                let key = key.as_deref();
                place_in_transaction(conn, &caller, key, &hash, &draft, problems, timezone)
            })
            .await
    };
    let outcome = match placed {
        // Two requests with one key: the second waits on the key's row (PostgreSQL) or its turn
        // on the writer (SQLite) and then replays the first one's order.
        Err(error) if idempotency_key.is_some() && error.is_already_exists() => {
            let key = idempotency_key.unwrap_or_default();
            ctx.db
                .run(move |conn| replay(conn, &caller, &key, &hash))
                .await?
                .ok_or(error)?
        }
        other => other?,
    };
    if matches!(outcome, Placed::Created(_)) {
        crate::metrics::record_order_placed();
    }
    Ok(outcome)
}

/// The order a buyer's key already stands for, if any (within the window).
fn replay(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    key: &str,
    hash: &str,
) -> AppResult<Option<Placed>> {
    let Some(record) = repo::find_idempotency(conn, &caller.id, key)? else {
        return Ok(None);
    };
    if record.created_at < now_utc() - idempotency_window() {
        return Ok(None);
    }
    if record.request_hash != hash {
        return Err(key_reused());
    }
    let order = repo::find(conn, &record.order_id)?.ok_or_else(|| AppError::not_found("order"))?;
    let items = repo::items_of(conn, std::slice::from_ref(&order.id))?;
    Ok(Some(Placed::Replayed(OrderWithItems { order, items })))
}

/// Places the order; runs as one write transaction (`Database::write`).
fn place_in_transaction(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    idempotency_key: Option<&str>,
    hash: &str,
    draft: &BuyerDraft,
    problems: Problems,
    timezone: chrono_tz::Tz,
) -> AppResult<Placed> {
    let now = now_utc();
    let order_id = OrderId::generate();
    if let Some(key) = idempotency_key {
        if let Some(replayed) = replay(conn, caller, key, hash)? {
            return Ok(replayed);
        }
        repo::forget_idempotency_before(conn, now - idempotency_window())?;
        // Claimed before any stock is taken: a concurrent twin blocks here, not on products.
        repo::insert_idempotency(
            conn,
            &IdempotencyRecord {
                buyer_id: caller.id,
                key: key.to_owned(),
                request_hash: hash.to_owned(),
                order_id,
                created_at: now,
            },
        )?;
    }
    problems.finish()?;

    let (household_id, items) = take_all_stock(conn, draft, order_id, now)?;
    let placement = Placement {
        id: order_id,
        buyer_id: Some(caller.id),
        household_id,
        status: OrderStatus::Placed,
        placed_at: now,
        stock_taken: true,
    };
    let order = draft
        .clone()
        .into_order(placement, &items)
        .map_err(|problem| AppError::invalid_field("items", problem))?;
    repo::insert_order(conn, &order, &items)?;
    let mut rollups = StatsBatch::new(timezone);
    if let Some(placed) = order.placed(&items) {
        rollups.order_placed(&placed);
    }
    rollups.write_at_commit(conn)?;
    Ok(Placed::Created(OrderWithItems { order, items }))
}

/// Takes every line's stock with one conditional update per product (in product-id order, so
/// that two multi-item orders cannot deadlock) and returns the household and the lines. The
/// update only matches an active product of an active household with enough stock; when a line
/// is not taken, [`why_not_taken`] finds out why, and the transaction rolls back.
fn take_all_stock(
    conn: &mut DbConnection,
    draft: &BuyerDraft,
    order_id: OrderId,
    now: chrono::NaiveDateTime,
) -> AppResult<(HouseholdId, Vec<OrderItem>)> {
    let by_product: BTreeMap<ProductId, (usize, i64)> = draft
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| (line.product, (i, line.quantity)))
        .collect();
    let mut taken = vec![None; draft.lines.len()];
    let mut short = Vec::new();
    for (product_id, (line, quantity)) in &by_product {
        match crate::products::repo::take_stock(conn, product_id, *quantity, now)? {
            Some(merchandise) => taken[*line] = Some(merchandise),
            None => short.push(*line),
        }
    }
    if !short.is_empty() {
        return Err(why_not_taken(conn, draft, short)?);
    }
    let taken: Vec<ProductSnapshot> = taken
        .into_iter()
        .map(|t| t.expect("every line was taken"))
        .collect();
    let household_id = taken[0].household_id;
    if let Some(mixed) = mixed_households(taken.iter().map(|t| t.household_id)) {
        return Err(mixed);
    }
    let items = draft
        .lines
        .iter()
        .zip(&taken)
        .enumerate()
        .map(|(index, (line, product))| {
            OrderItem::of(order_id, index, product, line.quantity, product.price_vnd).ok_or_else(
                || {
                    AppError::invalid_field(
                        format!("items[{index}]"),
                        "the line's total is too large",
                    )
                },
            )
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((household_id, items))
}

/// 422 `mixed_households` naming each line sold by another household than the first; `None`
/// when one household sells them all.
fn mixed_households(sellers: impl Iterator<Item = HouseholdId>) -> Option<AppError> {
    let mut sellers = sellers.enumerate();
    let (_, first) = sellers.next()?;
    let strangers: Vec<FieldError> = sellers
        .filter(|(_, seller)| *seller != first)
        .map(|(i, _)| {
            FieldError::new(
                format!("items[{i}].product_id"),
                "is sold by another household than items[0]",
            )
        })
        .collect();
    (!strangers.is_empty()).then(|| {
        AppError::unprocessable(
            "mixed_households",
            "all items of an order must come from one household; place one order per household",
        )
        .with_field_errors(strangers)
    })
}

/// Why some lines could not be taken, in the order a buyer should hear it: products that cannot
/// be ordered at all, then products of another household, then short stock (every short line).
fn why_not_taken(
    conn: &mut DbConnection,
    draft: &BuyerDraft,
    mut short: Vec<usize>,
) -> AppResult<AppError> {
    let ids: Vec<ProductId> = draft.lines.iter().map(|line| line.product).collect();
    let found: HashMap<ProductId, crate::products::repo::OrderableProduct> =
        crate::products::repo::orderable_products(conn, &ids)?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let mut unavailable = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match found.get(id) {
            Some(p)
                if p.status == ProductStatus::Active
                    && p.household_status == HouseholdStatus::Active => {}
            Some(p) => unavailable.push(FieldError::new(
                format!("items[{i}].product_id"),
                format!("'{}' is not available for ordering", p.name),
            )),
            None => unavailable.push(FieldError::new(
                format!("items[{i}].product_id"),
                "no such product",
            )),
        }
    }
    if !unavailable.is_empty() {
        let detail = match unavailable.len() {
            1 => "a product in this order cannot be ordered".to_owned(),
            n => format!("{n} products in this order cannot be ordered"),
        };
        return Ok(AppError::conflict("product_unavailable", detail).with_field_errors(unavailable));
    }
    if let Some(mixed) = mixed_households(ids.iter().map(|id| found[id].household_id)) {
        return Ok(mixed);
    }
    short.sort_unstable();
    let mut errors = Vec::new();
    let mut details = Vec::new();
    for line in short {
        let product = &found[&ids[line]];
        errors.push(FieldError::new(
            format!("items[{line}].quantity"),
            format!("only {} left", product.stock_quantity),
        ));
        details.push(format!(
            "only {} units of '{}' are left",
            product.stock_quantity, product.name
        ));
    }
    Ok(AppError::conflict("insufficient_stock", details.join("; ")).with_field_errors(errors))
}

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
}

pub async fn make_move(
    ctx: &Context,
    caller: CurrentUser,
    id: &str,
    requested: Move,
) -> AppResult<OrderWithItems> {
    let id = from_path(id, OrderId::parse, "order")?;
    let mut problems = Problems::new();
    let requested = match requested {
        Move::Ship { tracking_code } => Move::Ship {
            tracking_code: problems
                .check(validate::optional_text(
                    "tracking_code",
                    tracking_code.as_deref(),
                    TRACKING_CODE_MAX_CHARS,
                ))
                .flatten(),
        },
        Move::Cancel { reason } => Move::Cancel {
            reason: problems
                .check(validate::optional_text(
                    "reason",
                    reason.as_deref(),
                    REASON_MAX_CHARS,
                ))
                .flatten(),
        },
        other => other,
    };
    problems.finish()?;
    let timezone = ctx.timezone;
    ctx.db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (order, relation) = visible_order(conn, &caller, &id)?;
                let from = requested.allowed_from(&relation);
                if from.is_empty() {
                    return Err(AppError::forbidden(format!(
                        "you may not {} this order",
                        requested.verb()
                    )));
                }
                let now = now_utc();
                let change = match &requested {
                    Move::Confirm => OrderMove {
                        status: Some(OrderStatus::Confirmed),
                        confirmed_at: Some(now),
                        ..Default::default()
                    },
                    Move::Ship { tracking_code } => OrderMove {
                        status: Some(OrderStatus::Shipped),
                        shipped_at: Some(now),
                        tracking_code: tracking_code.clone(),
                        ..Default::default()
                    },
                    Move::Deliver => OrderMove {
                        status: Some(OrderStatus::Delivered),
                        delivered_at: Some(now),
                        // Cash on delivery is paid now; a transfer keeps what it was.
                        payment_status: (order.payment_method == PaymentMethod::Cod)
                            .then_some(PaymentStatus::Paid),
                        ..Default::default()
                    },
                    Move::Cancel { reason } => OrderMove {
                        status: Some(OrderStatus::Cancelled),
                        cancelled_at: Some(now),
                        cancel_reason: reason.clone(),
                        ..Default::default()
                    },
                };
                // Conditional on the status: of two concurrent moves exactly one changes the row.
                if repo::move_order(conn, &order.id, &from, &change)? == 0 {
                    let current = repo::find(conn, &order.id)?.map_or(order.status, |o| o.status);
                    return Err(AppError::conflict(
                        "invalid_transition",
                        format!("cannot {} an order that is {current}", requested.verb()),
                    ));
                }
                let items = repo::items_of(conn, std::slice::from_ref(&order.id))?;
                if matches!(requested, Move::Cancel { .. }) {
                    // Imported history took no stock, so its cancel returns none.
                    let mut lines: Vec<&OrderItem> =
                        items.iter().filter(|_| order.stock_taken).collect();
                    lines.sort_by_key(|item| item.product_id);
                    for item in lines {
                        crate::products::repo::return_stock(
                            conn,
                            &item.product_id,
                            item.quantity,
                            now,
                        )?;
                    }
                    // The order stops counting in the statistics of the day it was placed.
                    let mut rollups = StatsBatch::new(timezone);
                    rollups.order_cancelled(&order.counted(&items));
                    rollups.write_at_commit(conn)?;
                }
                let order =
                    repo::find(conn, &order.id)?.ok_or_else(|| AppError::not_found("order"))?;
                Ok(OrderWithItems { order, items })
            })
        })
        .await
}

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
