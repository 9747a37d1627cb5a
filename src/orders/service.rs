//! Order rules: placing (all stock or none, idempotent retries), the status moves and who may
//! make them, and who sees which orders.

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{
    CANCELLED, COD, CONFIRMED, DELIVERED, OrderView, PAID, PLACED, SHIPPED, STATUSES, UNPAID, rules,
};
use super::repo::{self, IdempotencyRecord, Order, OrderFilter, OrderItem, OrderMove};
use crate::api::{Page, PageParams, Paging};
use crate::auth::{CurrentUser, Role};
use crate::context::Context;
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult, FieldError};
use crate::households::service::check_province;
use crate::ids::{HouseholdId, OrderId, ProductId, from_path};
use crate::products::model::{MAX_PRICE_VND, STATUS_ACTIVE};
use crate::stats::StatsBatch;
use crate::time::{day_start_utc, now_utc, parse_date};
use crate::validate::{self, ADDRESS_MAX_CHARS, NAME_MAX_CHARS, Problems};

pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;
pub const NOTE_MAX_CHARS: usize = 1000;
pub const REASON_MAX_CHARS: usize = 500;
pub const TRACKING_CODE_MAX_CHARS: usize = 100;

/// How long an Idempotency-Key is remembered.
pub fn idempotency_window() -> Duration {
    Duration::hours(24)
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItemRequest {
    pub product_id: String,
    pub quantity: i64,
}

/// `country_code` is ISO 3166-1 alpha-2 (default `VN`); another country makes an export order.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRequest {
    pub recipient_name: String,
    pub phone: String,
    pub address: String,
    pub province_code: Option<String>,
    pub country_code: Option<String>,
}

/// Items of one household (at most 100, each product once); `payment_method` `cod` (default) or `bank_transfer`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"product_id": "01a2225c-e6cb-712d-9779-57fdd85fbb67", "quantity": 3}], "shipping": {"recipient_name": "Trần Thị Hoa", "phone": "0987 654 321", "address": "12 Lê Lợi, Quận 1", "province_code": "79", "country_code": "VN"}}))]
pub struct PlaceOrderRequest {
    pub items: Vec<OrderItemRequest>,
    pub shipping: ShippingRequest,
    pub payment_method: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipRequest {
    pub tracking_code: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    pub status: Option<String>,
    pub household_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// What placing an order answered: a new order, or the one a repeated key stands for.
pub enum Placed {
    Created(OrderView),
    Replayed(OrderView),
}

/// A validated order request.
struct OrderDraft {
    lines: Vec<(ProductId, i64)>,
    recipient_name: String,
    phone: String,
    address: String,
    province_code: Option<String>,
    country_code: String,
    payment_method: String,
    note: Option<String>,
}

fn parse_request(request: &PlaceOrderRequest) -> (OrderDraft, Problems) {
    let mut problems = Problems::new();
    let mut lines = Vec::with_capacity(request.items.len());
    let mut seen = HashMap::new();
    // Past the limit the lines themselves are not worth judging.
    let lines_to_check = if rules::item_count(&mut problems, "items", request.items.len()) {
        request.items.len()
    } else {
        0
    };
    for (i, item) in request.items.iter().enumerate().take(lines_to_check) {
        match ProductId::parse(&item.product_id) {
            Some(id) => {
                let first = *seen.entry(id).or_insert(i);
                if first != i {
                    problems.add(
                        format!("items[{i}].product_id"),
                        format!("the same product as items[{first}]; order a product at most once"),
                    );
                }
                lines.push((id, item.quantity));
            }
            None => problems.add(format!("items[{i}].product_id"), "must be a product id"),
        }
        rules::quantity(
            &mut problems,
            &format!("items[{i}].quantity"),
            item.quantity,
        );
    }
    let shipping = &request.shipping;
    let recipient_name = problems
        .check(validate::required_text(
            "shipping.recipient_name",
            &shipping.recipient_name,
            NAME_MAX_CHARS,
        ))
        .unwrap_or_default();
    let phone = match validate::optional_phone("shipping.phone", Some(&shipping.phone)) {
        Ok(Some(phone)) => phone,
        Ok(None) => {
            problems.add("shipping.phone", "must not be empty");
            String::new()
        }
        Err(problem) => {
            problems.0.push(problem);
            String::new()
        }
    };
    let address = problems
        .check(validate::required_text(
            "shipping.address",
            &shipping.address,
            ADDRESS_MAX_CHARS,
        ))
        .unwrap_or_default();
    let province_code = shipping
        .province_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let country_code = rules::country_code(
        &mut problems,
        "shipping.country_code",
        shipping.country_code.as_deref(),
    );
    let payment_method = rules::payment_method(&mut problems, request.payment_method.as_deref());
    let note = problems
        .check(validate::optional_text(
            "note",
            request.note.as_deref(),
            NOTE_MAX_CHARS,
        ))
        .flatten();
    let draft = OrderDraft {
        lines,
        recipient_name,
        phone,
        address,
        province_code,
        country_code,
        payment_method,
        note,
    };
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

fn request_hash(request: &PlaceOrderRequest) -> String {
    // The parsed request, re-serialised: the same JSON with other spacing or key order is the same body.
    let canonical = serde_json::to_vec(request).unwrap_or_default();
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
    request: PlaceOrderRequest,
) -> AppResult<Placed> {
    if caller.role != Role::Buyer {
        return Err(AppError::forbidden("only buyers place orders"));
    }
    if let Some(key) = &idempotency_key {
        check_idempotency_key(key)?;
    }
    let hash = request_hash(&request);
    let (draft, problems) = parse_request(&request);
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
    let Some(record) = repo::find_idempotency(conn, &caller.id.to_db(), key)? else {
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
    Ok(Some(Placed::Replayed(OrderView::new(order, items))))
}

/// Places the order; runs as one write transaction (`Database::write`).
fn place_in_transaction(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    idempotency_key: Option<&str>,
    hash: &str,
    draft: &OrderDraft,
    mut problems: Problems,
    timezone: chrono_tz::Tz,
) -> AppResult<Placed> {
    let now = now_utc();
    let order_id = OrderId::generate().to_db();
    if let Some(key) = idempotency_key {
        if let Some(replayed) = replay(conn, caller, key, hash)? {
            return Ok(replayed);
        }
        repo::forget_idempotency_before(conn, now - idempotency_window())?;
        // Claimed before any stock is taken: a concurrent twin blocks here, not on products.
        repo::insert_idempotency(
            conn,
            &IdempotencyRecord {
                buyer_id: caller.id.to_db(),
                key: key.to_owned(),
                request_hash: hash.to_owned(),
                order_id: order_id.clone(),
                created_at: now,
            },
        )?;
    }
    if let Some(code) = &draft.province_code {
        problems.check(check_province(conn, "shipping.province_code", code)?);
    }
    problems.finish()?;

    let (household_id, items) = take_all_stock(conn, draft, &order_id, now)?;
    let (total_vnd, total_weight_grams) = totals(&items)?;
    let order = Order {
        id: order_id,
        buyer_id: Some(caller.id.to_db()),
        household_id,
        status: PLACED.to_owned(),
        total_vnd,
        total_weight_grams,
        recipient_name: draft.recipient_name.clone(),
        phone: draft.phone.clone(),
        address: draft.address.clone(),
        province_code: draft.province_code.clone(),
        country_code: draft.country_code.clone(),
        payment_method: draft.payment_method.clone(),
        payment_status: UNPAID.to_owned(),
        tracking_code: None,
        note: draft.note.clone(),
        placed_at: now,
        confirmed_at: None,
        shipped_at: None,
        delivered_at: None,
        cancelled_at: None,
        cancel_reason: None,
        stock_taken: true,
    };
    repo::insert_order(conn, &order, &items)?;
    let mut rollups = StatsBatch::new(timezone);
    if let Some(placed) = order.placed(&items) {
        rollups.order_placed(&placed);
    }
    rollups.write_at_commit(conn)?;
    Ok(Placed::Created(OrderView::new(order, items)))
}

/// Takes every line's stock with one conditional update per product (in product-id order, so
/// that two multi-item orders cannot deadlock) and returns the household and the lines. The
/// update only matches an active product of an active household with enough stock; when a line
/// is not taken, [`why_not_taken`] finds out why, and the transaction rolls back.
fn take_all_stock(
    conn: &mut DbConnection,
    draft: &OrderDraft,
    order_id: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<(String, Vec<OrderItem>)> {
    let by_product: BTreeMap<String, (usize, i64)> = draft
        .lines
        .iter()
        .enumerate()
        .map(|(i, (id, quantity))| (id.to_db(), (i, *quantity)))
        .collect();
    let mut taken = vec![None; draft.lines.len()];
    let mut short = Vec::new();
    for (product_id, (line, quantity)) in &by_product {
        match crate::products::repo::take_stock(conn, product_id, *quantity, now)? {
            Some(snapshot) => taken[*line] = Some(snapshot),
            None => short.push(*line),
        }
    }
    if !short.is_empty() {
        return Err(why_not_taken(conn, draft, short)?);
    }
    let taken: Vec<crate::products::repo::TakenProduct> = taken
        .into_iter()
        .map(|t| t.expect("every line was taken"))
        .collect();
    let household_id = taken[0].household_id.clone();
    let strangers: Vec<FieldError> = taken
        .iter()
        .enumerate()
        .filter(|(_, t)| t.household_id != household_id)
        .map(|(i, _)| {
            FieldError::new(
                format!("items[{i}].product_id"),
                "is sold by another household than items[0]",
            )
        })
        .collect();
    if !strangers.is_empty() {
        return Err(mixed_households(strangers));
    }
    let items = draft
        .lines
        .iter()
        .zip(taken)
        .enumerate()
        .map(|(line, ((product_id, quantity), snapshot))| OrderItem {
            order_id: order_id.to_owned(),
            line_no: line as i32 + 1,
            product_id: product_id.to_db(),
            product_name: snapshot.name,
            product_category: snapshot.category,
            quantity: *quantity,
            unit_price_vnd: snapshot.price_vnd,
            unit_weight_grams: snapshot.unit_weight_grams,
            line_total_vnd: snapshot.price_vnd.saturating_mul(*quantity),
        })
        .collect();
    Ok((household_id, items))
}

fn mixed_households(strangers: Vec<FieldError>) -> AppError {
    AppError::unprocessable(
        "mixed_households",
        "all items of an order must come from one household; place one order per household",
    )
    .with_field_errors(strangers)
}

/// Why some lines could not be taken, in the order a buyer should hear it: products that cannot
/// be ordered at all, then products of another household, then short stock (every short line).
fn why_not_taken(
    conn: &mut DbConnection,
    draft: &OrderDraft,
    mut short: Vec<usize>,
) -> AppResult<AppError> {
    let ids: Vec<String> = draft.lines.iter().map(|(id, _)| id.to_db()).collect();
    let found: HashMap<String, crate::products::repo::OrderableProduct> =
        crate::products::repo::orderable_products(conn, &ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
    let mut unavailable = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match found.get(id) {
            Some(p)
                if p.status == STATUS_ACTIVE
                    && p.household_status == crate::households::model::STATUS_ACTIVE => {}
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
    let first_household = &found[&ids[0]].household_id;
    let strangers: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| &found[*id].household_id != first_household)
        .map(|(i, _)| {
            FieldError::new(
                format!("items[{i}].product_id"),
                "is sold by another household than items[0]",
            )
        })
        .collect();
    if !strangers.is_empty() {
        return Ok(mixed_households(strangers));
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

/// An order's total price and weight, exact; or why there is none (past 10^15 đồng, or a
/// weight past 64 bits). Placed and imported orders alike.
pub fn order_totals(items: &[OrderItem]) -> Result<(i64, i64), &'static str> {
    const TOO_DEAR: &str = "the order's total is larger than 10^15 đồng";
    const TOO_HEAVY: &str = "the order's total weight is too large";
    let mut total_vnd: i64 = 0;
    let mut total_weight: i64 = 0;
    for item in items {
        let line = item.unit_price_vnd.checked_mul(item.quantity);
        total_vnd = line
            .and_then(|l| total_vnd.checked_add(l))
            .ok_or(TOO_DEAR)?;
        let weight = item.unit_weight_grams.checked_mul(item.quantity);
        total_weight = weight
            .and_then(|w| total_weight.checked_add(w))
            .ok_or(TOO_HEAVY)?;
    }
    if total_vnd > MAX_PRICE_VND {
        return Err(TOO_DEAR);
    }
    Ok((total_vnd, total_weight))
}

fn totals(items: &[OrderItem]) -> AppResult<(i64, i64)> {
    order_totals(items).map_err(|problem| AppError::invalid_field("items", problem))
}

/// How the caller stands to an order.
struct Relation {
    buyer: bool,
    owner: bool,
    admin: bool,
}

fn relation(conn: &mut DbConnection, caller: &CurrentUser, order: &Order) -> AppResult<Relation> {
    let me = caller.id.to_db();
    let owner = match crate::households::repo::find(conn, &order.household_id)? {
        Some(household) => household.owner_id.as_deref() == Some(me.as_str()),
        None => false,
    };
    Ok(Relation {
        buyer: order.buyer_id.as_deref() == Some(me.as_str()),
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
    let order = repo::find(conn, &id.to_db())?.ok_or_else(|| AppError::not_found("order"))?;
    let relation = relation(conn, caller, &order)?;
    if relation.buyer || relation.owner || relation.admin {
        Ok((order, relation))
    } else {
        Err(AppError::not_found("order"))
    }
}

pub async fn get(ctx: &Context, caller: CurrentUser, id: &str) -> AppResult<OrderView> {
    let id = from_path(id, OrderId::parse, "order")?;
    ctx.db
        .run(move |conn| {
            let (order, _) = visible_order(conn, &caller, &id)?;
            let items = repo::items_of(conn, std::slice::from_ref(&order.id))?;
            Ok(OrderView::new(order, items))
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
    fn allowed_from(&self, relation: &Relation) -> Vec<&'static str> {
        let mut from = Vec::new();
        match self {
            Move::Confirm if relation.owner => from.push(PLACED),
            Move::Ship { .. } if relation.owner => from.push(CONFIRMED),
            Move::Deliver if relation.owner || relation.buyer || relation.admin => {
                from.push(SHIPPED)
            }
            Move::Cancel { .. } => {
                if relation.buyer {
                    from.push(PLACED);
                }
                if relation.owner {
                    from.extend([PLACED, CONFIRMED]);
                }
                if relation.admin {
                    from.extend([PLACED, CONFIRMED, SHIPPED]);
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
) -> AppResult<OrderView> {
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
                        status: Some(CONFIRMED.to_owned()),
                        confirmed_at: Some(now),
                        ..Default::default()
                    },
                    Move::Ship { tracking_code } => OrderMove {
                        status: Some(SHIPPED.to_owned()),
                        shipped_at: Some(now),
                        tracking_code: tracking_code.clone(),
                        ..Default::default()
                    },
                    Move::Deliver => OrderMove {
                        status: Some(DELIVERED.to_owned()),
                        delivered_at: Some(now),
                        payment_status: (order.payment_method == COD).then(|| PAID.to_owned()),
                        ..Default::default()
                    },
                    Move::Cancel { reason } => OrderMove {
                        status: Some(CANCELLED.to_owned()),
                        cancelled_at: Some(now),
                        cancel_reason: reason.clone(),
                        ..Default::default()
                    },
                };
                // Conditional on the status: of two concurrent moves exactly one changes the row.
                if repo::move_order(conn, &order.id, &from, &change)? == 0 {
                    let current = repo::find(conn, &order.id)?
                        .map(|o| o.status)
                        .unwrap_or_default();
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
                    lines.sort_by(|a, b| a.product_id.cmp(&b.product_id));
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
                Ok(OrderView::new(order, items))
            })
        })
        .await
}

pub async fn list(
    ctx: &Context,
    caller: CurrentUser,
    query: ListOrdersQuery,
) -> AppResult<Page<OrderView>> {
    let mut problems = Problems::new();
    let paging = Paging::parse(
        PageParams {
            page: query.page,
            per_page: query.per_page,
        },
        &mut problems.0,
    );
    let status = query.status.as_deref().and_then(|s| {
        if STATUSES.contains(&s) {
            Some(s.to_owned())
        } else {
            problems.add("status", format!("must be one of {}", STATUSES.join(", ")));
            None
        }
    });
    let household_id = query.household_id.as_deref().and_then(|id| {
        let parsed = HouseholdId::parse(id);
        if parsed.is_none() {
            problems.add("household_id", "must be a household id");
        }
        parsed
    });
    let mut day = |field: &str, value: Option<&str>| {
        value.and_then(|text| {
            let parsed = parse_date(text);
            if parsed.is_none() {
                problems.add(field, "must be a date YYYY-MM-DD");
            }
            parsed
        })
    };
    let from = day("from", query.from.as_deref());
    let to = day("to", query.to.as_deref());
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        problems.add("to", "must not be before from");
    }
    problems.finish()?;
    let tz = ctx.timezone;
    let me = caller.id.to_db();
    let filter = OrderFilter {
        buyer_id: (caller.role == Role::Buyer).then(|| me.clone()),
        household_owner_id: (caller.role == Role::Farmer).then(|| me.clone()),
        household_id: household_id.map(|id| id.to_db()),
        status,
        placed_from: from.map(|d| day_start_utc(d, tz)),
        placed_before: to.and_then(|d| d.succ_opt()).map(|d| day_start_utc(d, tz)),
    };
    ctx.db
        .run(move |conn| {
            let (orders, total) = repo::list(conn, &filter, paging)?;
            let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
            let mut items_by_order: HashMap<String, Vec<OrderItem>> = HashMap::new();
            for item in repo::items_of(conn, &ids)? {
                items_by_order
                    .entry(item.order_id.clone())
                    .or_default()
                    .push(item);
            }
            let views = orders
                .into_iter()
                .map(|order| {
                    let items = items_by_order.remove(&order.id).unwrap_or_default();
                    OrderView::new(order, items)
                })
                .collect();
            Ok(Page::new(views, paging, total))
        })
        .await
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn item(price: i64, grams: i64, quantity: i64) -> OrderItem {
        OrderItem {
            order_id: String::new(),
            line_no: 1,
            product_id: String::new(),
            product_name: String::new(),
            product_category: String::new(),
            quantity,
            unit_price_vnd: price,
            unit_weight_grams: grams,
            line_total_vnd: price.saturating_mul(quantity),
        }
    }

    proptest! {
        #[test]
        fn totals_are_exact_or_refused_never_wrapped(
            lines in prop::collection::vec((1i64..=1_000_000_000_000_000, 1i64..=1_000_000_000, 1i64..=1_000_000_000), 1..8)
        ) {
            let items: Vec<OrderItem> = lines.iter().map(|(p, g, q)| item(*p, *g, *q)).collect();
            let exact_vnd: i128 = lines.iter().map(|(p, _, q)| i128::from(*p) * i128::from(*q)).sum();
            let exact_grams: i128 = lines.iter().map(|(_, g, q)| i128::from(*g) * i128::from(*q)).sum();
            match totals(&items) {
                Ok((vnd, grams)) => {
                    prop_assert_eq!(i128::from(vnd), exact_vnd);
                    prop_assert_eq!(i128::from(grams), exact_grams);
                    prop_assert!(vnd <= MAX_PRICE_VND);
                }
                Err(error) => {
                    prop_assert_eq!(error.code(), "validation_failed");
                    prop_assert!(exact_vnd > i128::from(MAX_PRICE_VND) || exact_grams > i128::from(i64::MAX));
                }
            }
        }
    }
}
