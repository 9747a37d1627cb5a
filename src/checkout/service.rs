//! Cart rules (every line a product on sale, once; at most 20 households; a destination the
//! shipping zones can place), what a parcel costs, who sees a checkout, how it is paid by
//! VietQR, and the expiry of unpaid transfers.

use std::collections::HashSet;

use chrono::NaiveDateTime;

use super::model::{CartInput, CheckoutPayment, MAX_CART_HOUSEHOLDS, Parcel, Quote, amount_due};
use super::repo::{self as checkouts, Checkout};
use super::vietqr::{Transfer, VietQrError};
use crate::admin_map::{HOME_COUNTRY, PlaceInput};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{CheckoutId, ProductId, from_path};
use crate::ledger::service::Books;
use crate::orders::model::{MAX_ORDER_WEIGHT_GRAMS, OrderWithItems, PaymentMethod, rules};
use crate::orders::repo as orders;
use crate::orders::service::cancel_unpaid_checkout;
use crate::products::repo::{self as products, CartProduct};
use crate::shipping::{self, Destination, Zone};
use crate::time::now_utc;
use crate::validate::{MAX_VND, Problems};

/// A checkout with its orders (one per household, in the order they first appear in the cart).
#[derive(Debug, Clone)]
pub struct CheckoutWithOrders {
    pub checkout: Checkout,
    pub orders: Vec<OrderWithItems>,
}

/// A checkout and its orders as stored; `None` when there is no such checkout.
pub fn load(conn: &mut DbConnection, id: &CheckoutId) -> AppResult<Option<CheckoutWithOrders>> {
    let Some(checkout) = checkouts::find(conn, id)? else {
        return Ok(None);
    };
    let headers = orders::of_checkout(conn, id)?;
    let ids: Vec<_> = headers.iter().map(|o| o.id).collect();
    let mut items = orders::items_of(conn, &ids)?;
    let orders = headers
        .into_iter()
        .map(|order| {
            let (mine, rest) = items.drain(..).partition(|item| item.order_id == order.id);
            items = rest;
            OrderWithItems { order, items: mine }
        })
        .collect();
    Ok(Some(CheckoutWithOrders { checkout, orders }))
}

/// A checkout its buyer or an admin asks for (others: 404).
pub async fn get(ctx: &Context, caller: CurrentUser, id: &str) -> AppResult<CheckoutWithOrders> {
    let id = from_path(id, CheckoutId::parse, "checkout")?;
    let found = ctx.db.run(move |conn| load(conn, &id)).await?;
    found
        .filter(|placed| placed.checkout.buyer_id == caller.id || caller.is_admin())
        .ok_or_else(|| AppError::not_found("checkout"))
}

/// The VietQR payload that pays this checkout (bank transfers still unpaid, with something to
/// pay): the platform's account from `payments`, the amount due, and the checkout's code as the
/// content. A paid or expired checkout has none: a buyer who scanned it again would pay twice.
pub fn vietqr_payload(
    ctx: &Context,
    checkout: &Checkout,
    due: i64,
) -> Option<Result<String, VietQrError>> {
    let payable = checkout.payment_method == PaymentMethod::BankTransfer
        && checkout.payment_status == CheckoutPayment::Unpaid
        && due > 0;
    payable.then(|| {
        let payments = &ctx.settings.payments;
        Transfer {
            bank_bin: &payments.bank_bin,
            account: &payments.bank_account,
            amount_vnd: due,
            purpose: &checkout.code,
        }
        .payload()
    })
}

/// The checkout's VietQR drawn as an SVG image; 404 for a cash-on-delivery checkout and for
/// one that is no longer unpaid.
pub async fn qr_svg(ctx: &Context, caller: CurrentUser, id: &str) -> AppResult<String> {
    let placed = get(ctx, caller, id).await?;
    let due = amount_due(placed.orders.iter().map(|o| &o.order));
    let payload = vietqr_payload(ctx, &placed.checkout, due)
        .ok_or_else(|| {
            AppError::not_found(
                "QR code (the checkout is paid on delivery, already paid, expired, or owes nothing)",
            )
        })?
        .map_err(|_| AppError::value_out_of_range())?;
    let code = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::M)
        .map_err(|_| AppError::value_out_of_range())?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build())
}

/// Expires every unpaid bank-transfer checkout whose time ran out: its orders that have not left
/// the farm are cancelled and their stock returned. Each checkout in its own transaction, moved
/// from unpaid by a conditional update, so that of several servers (or a payment arriving at the
/// same moment) exactly one acts on it. Returns how many this call expired.
pub async fn expire_due(ctx: &Context, now: NaiveDateTime) -> AppResult<usize> {
    let mut expired = 0;
    // A checkout that fails to expire is left for the next run, not in the way of the others.
    let mut failed: HashSet<CheckoutId> = HashSet::new();
    let books = Books::of(ctx);
    loop {
        let due = ctx
            .db
            .run(move |conn| Ok(checkouts::expired(conn, now, 100)?))
            .await?;
        let batch = due.len();
        let fresh: Vec<CheckoutId> = due.into_iter().filter(|id| !failed.contains(id)).collect();
        if fresh.is_empty() {
            return Ok(expired);
        }
        for id in fresh {
            let attempt = ctx
                .db
                .write(move |conn| {
                    if checkouts::settle_unpaid(conn, &id, CheckoutPayment::Expired, None)? == 0 {
                        return Ok(false);
                    }
                    cancel_unpaid_checkout(conn, &id, now_utc(), books)?;
                    Ok(true)
                })
                .await;
            match attempt {
                Ok(won) => expired += usize::from(won),
                Err(error) => {
                    tracing::warn!(checkout = %id, %error, "an unpaid checkout could not expire");
                    failed.insert(id);
                }
            }
        }
        if batch < 100 {
            return Ok(expired);
        }
    }
}

/// A parcel's zone and fee: its household's province (current map) to the destination, by its
/// weight; free when its goods reach the household's free-shipping threshold. `None` past 64 bits.
pub fn parcel_fee(
    ctx: &Context,
    origin: Option<&str>,
    to: Destination<'_>,
    weight_grams: i64,
    goods_vnd: i64,
    free_from_vnd: Option<i64>,
) -> Option<(Zone, i64)> {
    let zone = shipping::zone(
        &ctx.settings.shipping,
        &ctx.map,
        origin.unwrap_or_default(),
        to,
    );
    let fee = if free_from_vnd.is_some_and(|threshold| goods_vnd >= threshold) {
        0
    } else {
        shipping::fee(
            shipping::tariff(&ctx.settings.shipping, &zone),
            weight_grams,
        )?
    };
    Some((zone, fee))
}

/// What a cart costs to buy and ship, one parcel per household (no stock is taken).
pub async fn quote(ctx: &Context, cart: CartInput<'_>) -> AppResult<Quote> {
    let mut problems = Problems::new();
    let lines = lines(&mut problems, &cart);
    let place = PlaceInput {
        commune_code: cart.commune_code,
        province_code: cart.province_code,
        province_map: cart.province_map,
    };
    let (province, _, country) = rules::destination(
        &mut problems,
        &ctx.map,
        place,
        "shipping.country_code",
        cart.country_code,
    );
    if country == HOME_COUNTRY && province.is_none() && problems.0.is_empty() {
        problems.add(
            "shipping.commune_code",
            "give the commune (or shipping.province_code) the parcels go to",
        );
    }
    problems.finish()?;
    let mut problems = Problems::new();
    let ids: Vec<ProductId> = lines.iter().map(|(id, _)| *id).collect();
    let found = ctx
        .db
        .run(move |conn| Ok(products::cart_products(conn, &ids)?))
        .await?;
    let destination = Destination {
        country_code: &country,
        current_province: province.as_ref().map(|p| p.current_code.as_str()),
    };
    // Each household's products, in the order the household first appears.
    let mut by_household: Vec<(&CartProduct, Vec<(&CartProduct, i64)>)> = Vec::new();
    for (index, (id, quantity)) in lines.iter().enumerate() {
        let Some(product) = found.iter().find(|p| p.id == *id).filter(|p| p.on_sale()) else {
            problems.add(
                format!("items[{index}].product_id"),
                "no such product on sale",
            );
            continue;
        };
        match by_household
            .iter_mut()
            .find(|(first, _)| first.household_id == product.household_id)
        {
            Some((_, lines)) => lines.push((product, *quantity)),
            None => by_household.push((product, vec![(product, *quantity)])),
        }
    }
    if by_household.len() > MAX_CART_HOUSEHOLDS {
        problems.add(
            "items",
            format!("a cart holds products of at most {MAX_CART_HOUSEHOLDS} households"),
        );
    }
    problems.finish()?;
    let parcels = by_household
        .iter()
        .map(|(first, lines)| parcel(ctx, first, lines, destination))
        .collect::<Option<Vec<Parcel>>>()
        .ok_or_else(AppError::value_out_of_range)?;
    let quote = total(parcels).ok_or_else(AppError::value_out_of_range)?;
    // What a checkout of this cart would refuse, the quote refuses alike.
    if quote.parcels.iter().any(|p| p.goods_vnd > MAX_VND) || quote.total_vnd > MAX_VND {
        return Err(AppError::invalid_field(
            "items",
            "the cart's total is larger than 10^15 đồng, the most one checkout takes",
        ));
    }
    if quote
        .parcels
        .iter()
        .any(|p| p.weight_grams > MAX_ORDER_WEIGHT_GRAMS)
    {
        return Err(AppError::invalid_field(
            "items",
            "a household's parcel is heavier than 10^12 grams, the most one order takes",
        ));
    }
    Ok(quote)
}

/// The cart's lines, each a product id and a quantity, each product once.
fn lines(problems: &mut Problems, cart: &CartInput<'_>) -> Vec<(ProductId, i64)> {
    if !rules::item_count(problems, "items", cart.items.len()) {
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for (index, (id, quantity)) in cart.items.iter().enumerate() {
        let field = format!("items[{index}].product_id");
        let Some(id) = ProductId::parse(id) else {
            problems.add(field, "must be a product id");
            continue;
        };
        if !seen.insert(id) {
            problems.add(field, "the cart has this product already");
            continue;
        }
        if let Some(quantity) =
            rules::quantity(problems, &format!("items[{index}].quantity"), *quantity)
        {
            lines.push((id, quantity));
        }
    }
    lines
}

/// One household's parcel and its fee; `None` when its goods or weight pass 64 bits.
fn parcel(
    ctx: &Context,
    household: &CartProduct,
    lines: &[(&CartProduct, i64)],
    to: Destination<'_>,
) -> Option<Parcel> {
    let (mut weight, mut goods) = (0i64, 0i64);
    for (product, quantity) in lines {
        weight = weight.checked_add(product.unit_weight_grams.checked_mul(*quantity)?)?;
        goods = goods.checked_add(product.price_vnd.checked_mul(*quantity)?)?;
    }
    let (zone, fee) = parcel_fee(
        ctx,
        household.household_province.as_deref(),
        to,
        weight,
        goods,
        household.household_free_shipping_from_vnd,
    )?;
    Some(Parcel {
        household_id: household.household_id,
        weight_grams: weight,
        zone,
        goods_vnd: goods,
        shipping_vnd: fee,
    })
}

/// The cart's totals; `None` past 64 bits.
fn total(parcels: Vec<Parcel>) -> Option<Quote> {
    let (mut goods, mut shipping_total) = (0i64, 0i64);
    for parcel in &parcels {
        goods = goods.checked_add(parcel.goods_vnd)?;
        shipping_total = shipping_total.checked_add(parcel.shipping_vnd)?;
    }
    Some(Quote {
        parcels,
        goods_vnd: goods,
        shipping_vnd: shipping_total,
        total_vnd: goods.checked_add(shipping_total)?,
    })
}
