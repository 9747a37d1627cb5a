//! Placing a checkout: one order per household of the cart, all stock of all households taken in
//! one transaction or none, each parcel's shipping priced, and idempotent retries. `POST /orders`
//! is a checkout of one household.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};

use super::model::{CheckoutPayment, MAX_CART_HOUSEHOLDS, new_code};
use super::repo::{self as checkouts, Checkout};
use super::service::{CheckoutWithOrders, parcel_fee};
use super::vietqr::MAX_AMOUNT_VND;
use crate::auth::{CurrentUser, Role};
use crate::context::Context;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult, FieldError};
use crate::households::model::HouseholdStatus;
use crate::ids::{CheckoutId, HouseholdId, OrderId, ProductId};
use crate::orders::model::{
    OrderDraft, OrderInput, OrderSource, OrderStatus, OrderWithItems, PaymentMethod, Placement,
};
use crate::orders::repo::{self as orders, IdempotencyRecord, OrderItem};
use crate::products::model::ProductStatus;
use crate::products::repo::{self as products, ProductSnapshot};
use crate::provinces::AdminMap;
use crate::shipping::Destination;
use crate::stats::StatsBatch;
use crate::time::now_utc;
use crate::validate::{self, MAX_VND, Problems};

/// How long an Idempotency-Key is remembered.
pub fn idempotency_window() -> Duration {
    Duration::hours(24)
}

/// Which carts an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cart {
    /// `POST /orders`: one household's products (others: 422 `mixed_households`).
    OneHousehold,
    /// `POST /checkouts`: products of up to [`MAX_CART_HOUSEHOLDS`] households.
    AcrossFarms,
}

/// What placing answered: a new checkout, or the one a repeated key stands for.
pub enum Placed {
    Created(CheckoutWithOrders),
    Replayed(CheckoutWithOrders),
    /// A key an order placed before checkouts existed stands for (it has no checkout).
    ReplayedOrder(Box<OrderWithItems>),
}

/// A buyer's cart: its lines name products by id, whose stock is taken when it is placed.
type BuyerDraft = OrderDraft<ProductId>;

fn parse_cart(input: &OrderInput<'_>, map: &AdminMap) -> (BuyerDraft, Problems) {
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

fn request_hash(input: &OrderInput<'_>, cart: Cart) -> String {
    // The parsed request, re-serialised: the same JSON with other spacing or key order is the same body.
    let mut canonical = serde_json::to_vec(input).unwrap_or_default();
    // And the endpoint: a key of `POST /checkouts` replayed on `POST /orders` would answer an
    // order of a cart that endpoint refuses. (`POST /orders` keeps its hashes of before.)
    if cart == Cart::AcrossFarms {
        canonical.extend_from_slice(b" POST /checkouts");
    }
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
    cart: Cart,
) -> AppResult<Placed> {
    if caller.role != Role::Buyer {
        return Err(AppError::forbidden("only buyers place orders"));
    }
    if let Some(key) = &idempotency_key {
        validate::idempotency_key(key)?;
    }
    let hash = request_hash(&input, cart);
    let (draft, problems) = parse_cart(&input, &ctx.map);
    let placed = {
        let (caller, key, hash, ctx) = (
            caller.clone(),
            idempotency_key.clone(),
            hash.clone(),
            ctx.clone(),
        );
        ctx.db
            .clone()
            .write(move |conn| {
                let request = Request {
                    caller: &caller,
                    idempotency_key: key.as_deref(),
                    hash: &hash,
                    draft: &draft,
                    cart,
                };
                place_in_transaction(conn, &ctx, request, problems)
            })
            .await
    };
    let outcome = match placed {
        // Two requests with one key: the second waits on the key's row (PostgreSQL) or its turn
        // on the writer (SQLite) and then replays the first one's checkout.
        Err(error) if idempotency_key.is_some() && error.is_already_exists() => {
            let key = idempotency_key.unwrap_or_default();
            ctx.db
                .run(move |conn| replay(conn, &caller, &key, &hash, now_utc()))
                .await?
                .ok_or(error)?
        }
        other => other?,
    };
    if let Placed::Created(placed) = &outcome {
        for _ in &placed.orders {
            crate::metrics::record_order_placed();
        }
    }
    Ok(outcome)
}

/// The checkout a buyer's key already stands for, if any (within the window).
fn replay(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    key: &str,
    hash: &str,
    now: NaiveDateTime,
) -> AppResult<Option<Placed>> {
    let Some(record) = orders::find_idempotency(conn, &caller.id, key)? else {
        return Ok(None);
    };
    // `now` is the placing's own, so a key it finds too old is one its clean-up removes.
    if record.created_at < now - idempotency_window() {
        return Ok(None);
    }
    if record.request_hash != hash {
        return Err(key_reused());
    }
    let order =
        orders::find(conn, &record.order_id)?.ok_or_else(|| AppError::not_found("order"))?;
    let Some(checkout_id) = order.checkout_id else {
        let items = orders::items_of(conn, std::slice::from_ref(&order.id))?;
        return Ok(Some(Placed::ReplayedOrder(Box::new(OrderWithItems {
            order,
            items,
        }))));
    };
    let placed = super::service::load(conn, &checkout_id)?;
    Ok(placed.map(Placed::Replayed))
}

/// One placing request, parsed.
struct Request<'a> {
    caller: &'a CurrentUser,
    idempotency_key: Option<&'a str>,
    hash: &'a str,
    draft: &'a BuyerDraft,
    cart: Cart,
}

/// Places the checkout; runs as one write transaction (`Database::write`).
fn place_in_transaction(
    conn: &mut DbConnection,
    ctx: &Context,
    request: Request<'_>,
    problems: Problems,
) -> AppResult<Placed> {
    let now = now_utc();
    let first_order_id = OrderId::generate();
    if let Some(key) = request.idempotency_key {
        if let Some(replayed) = replay(conn, request.caller, key, request.hash, now)? {
            return Ok(replayed);
        }
        orders::forget_idempotency_before(conn, now - idempotency_window())?;
        // Claimed before any stock is taken: a concurrent twin blocks here, not on products.
        orders::insert_idempotency(
            conn,
            &IdempotencyRecord {
                buyer_id: request.caller.id,
                key: key.to_owned(),
                request_hash: request.hash.to_owned(),
                order_id: first_order_id,
                created_at: now,
            },
        )?;
    }
    problems.finish()?;

    let draft = request.draft;
    if draft.payment_method == PaymentMethod::BankTransfer {
        // Each unpaid transfer holds its stock until it expires: one buyer may hold only so many.
        crate::auth::repo::lock_user(conn, &request.caller.id)?;
        let limit = ctx.settings.payments.max_unpaid_transfers_per_buyer;
        if checkouts::unpaid_transfers_of(conn, &request.caller.id, now)? >= limit {
            return Err(AppError::conflict(
                "too_many_unpaid_transfers",
                format!(
                    "you have {limit} bank transfers waiting to be paid: pay one (or let it expire) \
                     first, or pay on delivery"
                ),
            ));
        }
    }
    let taken = take_all_stock(conn, draft, request.cart, now)?;
    let parcels = parcels_of(&taken);
    if request.cart == Cart::OneHousehold
        && let Some(mixed) = mixed_households(taken.iter().map(|t| t.household_id))
    {
        return Err(mixed);
    }
    if parcels.len() > MAX_CART_HOUSEHOLDS {
        return Err(AppError::invalid_field(
            "items",
            format!("a cart holds products of at most {MAX_CART_HOUSEHOLDS} households"),
        ));
    }
    let ids: Vec<ProductId> = taken.iter().map(|t| t.id).collect();
    let terms: HashMap<HouseholdId, (Option<String>, Option<i64>)> =
        products::cart_products(conn, &ids)?
            .into_iter()
            .map(|p| {
                let terms = (p.household_province, p.household_free_shipping_from_vnd);
                (p.household_id, terms)
            })
            .collect();
    let destination = Destination {
        country_code: &draft.shipping.country_code,
        current_province: draft
            .shipping
            .province
            .as_ref()
            .map(|p| p.current_code.as_str()),
    };

    let checkout_id = CheckoutId::generate();
    let mut placed = Vec::with_capacity(parcels.len());
    let (mut goods, mut shipping) = (0i64, 0i64);
    for (k, (household_id, lines)) in parcels.iter().enumerate() {
        let order_id = if k == 0 {
            first_order_id
        } else {
            OrderId::generate()
        };
        let items = lines
            .iter()
            .enumerate()
            .map(|(j, line)| {
                let product = &taken[*line];
                let quantity = draft.lines[*line].quantity;
                // Past 64 bits, as the quote answers it.
                OrderItem::of(order_id, j, product, quantity, product.price_vnd)
                    .ok_or_else(AppError::value_out_of_range)
            })
            .collect::<AppResult<Vec<_>>>()?;
        let placement = Placement {
            id: order_id,
            buyer_id: Some(request.caller.id),
            household_id: *household_id,
            status: OrderStatus::Placed,
            placed_at: now,
            stock_taken: true,
        };
        let mut order = draft
            .clone()
            .into_order(placement, &items)
            .map_err(|problem| AppError::invalid_field("items", problem))?;
        let (origin, free_from) = terms.get(household_id).cloned().unwrap_or_default();
        let (zone, fee) = parcel_fee(
            ctx,
            origin.as_deref(),
            destination,
            order.total_weight_grams,
            order.total_vnd,
            free_from,
        )
        .ok_or_else(AppError::value_out_of_range)?;
        order.checkout_id = Some(checkout_id);
        order.shipping_vnd = fee;
        order.shipping_zone = Some(String::from(zone));
        goods = goods
            .checked_add(order.total_vnd)
            .ok_or_else(AppError::value_out_of_range)?;
        shipping = shipping
            .checked_add(fee)
            .ok_or_else(AppError::value_out_of_range)?;
        placed.push(OrderWithItems { order, items });
    }
    let total = goods
        .checked_add(shipping)
        .filter(|total| *total <= MAX_VND)
        .ok_or_else(|| {
            AppError::invalid_field("items", "the checkout's total is larger than 10^15 đồng")
        })?;
    let method = draft.payment_method;
    if method == PaymentMethod::BankTransfer && total > MAX_AMOUNT_VND {
        return Err(AppError::invalid_field(
            "payment_method",
            format!(
                "a bank transfer carries at most {MAX_AMOUNT_VND} đồng: pay on delivery or split the cart"
            ),
        ));
    }
    let cash_at_most = ctx.settings.payments.max_cash_on_delivery_vnd;
    if method == PaymentMethod::Cod && total > cash_at_most {
        return Err(AppError::invalid_field(
            "payment_method",
            format!(
                "cash on delivery collects at most {cash_at_most} đồng: pay by bank_transfer or split the cart"
            ),
        ));
    }
    let checkout = Checkout {
        id: checkout_id,
        code: new_code(),
        buyer_id: request.caller.id,
        payment_method: method,
        payment_status: CheckoutPayment::Unpaid,
        goods_vnd: goods,
        shipping_vnd: shipping,
        total_vnd: total,
        created_at: now,
        expires_at: (method == PaymentMethod::BankTransfer).then(|| {
            now + Duration::from_std(ctx.settings.payments.expiry).unwrap_or(Duration::days(1))
        }),
        paid_at: None,
    };
    checkouts::insert(conn, &checkout)?;
    let mut rollups = StatsBatch::new(ctx.timezone);
    for OrderWithItems { order, items } in &placed {
        orders::insert_order(conn, order, items)?;
        if let Some(counted) = order.placed(items) {
            rollups.order_placed(&counted);
        }
    }
    rollups.write_at_commit(conn)?;
    Ok(Placed::Created(CheckoutWithOrders {
        checkout,
        orders: placed,
    }))
}

/// The cart's households in the order they first appear, each with its lines (indexes into the
/// cart).
fn parcels_of(taken: &[ProductSnapshot]) -> Vec<(HouseholdId, Vec<usize>)> {
    let mut parcels: Vec<(HouseholdId, Vec<usize>)> = Vec::new();
    for (line, product) in taken.iter().enumerate() {
        match parcels
            .iter_mut()
            .find(|(id, _)| *id == product.household_id)
        {
            Some((_, lines)) => lines.push(line),
            None => parcels.push((product.household_id, vec![line])),
        }
    }
    parcels
}

/// Takes every line's stock with one conditional update per product (in product-id order, so
/// that two carts cannot deadlock) and returns each line's product as taken. The update only
/// matches an active product of an active household with enough stock; when a line is not
/// taken, [`why_not_taken`] finds out why, and the transaction rolls back.
fn take_all_stock(
    conn: &mut DbConnection,
    draft: &BuyerDraft,
    cart: Cart,
    now: NaiveDateTime,
) -> AppResult<Vec<ProductSnapshot>> {
    let by_product: BTreeMap<ProductId, (usize, i64)> = draft
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| (line.product, (i, line.quantity)))
        .collect();
    let mut taken = vec![None; draft.lines.len()];
    let mut short = Vec::new();
    for (product_id, (line, quantity)) in &by_product {
        match products::take_stock(conn, product_id, *quantity, now)? {
            Some(merchandise) => taken[*line] = Some(merchandise),
            None => short.push(*line),
        }
    }
    if !short.is_empty() {
        return Err(why_not_taken(conn, draft, cart, short)?);
    }
    Ok(taken
        .into_iter()
        .map(|t| t.expect("every line was taken"))
        .collect())
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
            "all items of an order must come from one household; place one order per household, or one checkout (POST /checkouts)",
        )
        .with_field_errors(strangers)
    })
}

/// Why some lines could not be taken, in the order a buyer should hear it: products that cannot
/// be ordered at all, then (for one household's order) products of another household, then
/// short stock (every short line).
fn why_not_taken(
    conn: &mut DbConnection,
    draft: &BuyerDraft,
    cart: Cart,
    mut short: Vec<usize>,
) -> AppResult<AppError> {
    let ids: Vec<ProductId> = draft.lines.iter().map(|line| line.product).collect();
    let found: HashMap<ProductId, products::OrderableProduct> =
        products::orderable_products(conn, &ids)?
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
    if cart == Cart::OneHousehold
        && let Some(mixed) = mixed_households(ids.iter().map(|id| found[id].household_id))
    {
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
