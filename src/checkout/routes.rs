//! `/checkouts` (and `POST /orders`, a checkout of one household), their VietQR, and
//! `/shipping/quote`: what a cart across farms costs to ship, before it is bought.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::model::{CartInput, CheckoutPayment, Quote, amount_due, refunds_owed};
use super::placing::{self, Cart, Placed};
use super::service::{self, CheckoutWithOrders};
use crate::api::idempotency::replayed;
use crate::api::resource::answers::{BuyersOnly, Invalid, NotFound, StockShort, Unauthenticated};
use crate::api::{ApiJson, IdempotencyKey, Problem, api_resource};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::AppResult;
use crate::orders::model::PaymentMethod;
use crate::orders::routes::{
    __path_list_orders, OrderItemRequest, OrderView, PlaceOrderRequest, list_orders,
};

/// Where a cart goes: a commune (current map), or a province code with its map (`2008` by
/// default, or `current`); `country_code` ISO 3166-1 alpha-2 (default `VN`), another country
/// ships abroad and needs no province.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationRequest {
    pub commune_code: Option<String>,
    pub province_code: Option<String>,
    pub province_map: Option<String>,
    pub country_code: Option<String>,
}

/// A cart: products of up to 20 households (at most 100 lines, each product once).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"product_id": "01a2225c-e6cb-712d-9779-57fdd85fbb67", "quantity": 3}], "shipping": {"commune_code": "07582"}}))]
pub struct QuoteRequest {
    pub items: Vec<OrderItemRequest>,
    pub shipping: DestinationRequest,
}

impl QuoteRequest {
    fn input(&self) -> CartInput<'_> {
        CartInput {
            items: self
                .items
                .iter()
                .map(|item| (item.product_id.as_str(), item.quantity))
                .collect(),
            commune_code: self.shipping.commune_code.as_deref(),
            province_code: self.shipping.province_code.as_deref(),
            province_map: self.shipping.province_map.as_deref(),
            country_code: self.shipping.country_code.as_deref(),
        }
    }
}

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, quote_shipping);
    // `/orders`: one resource for its two methods (so that a wrong one is 405).
    api_resource!(cfg, place_order, list_orders);
    api_resource!(cfg, place_checkout);
    api_resource!(cfg, get_checkout);
    api_resource!(cfg, checkout_qr);
}

/// How a checkout is paid.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub method: PaymentMethod,
    /// `unpaid`, `paid` (the transfer arrived) or `expired` (it did not in time; the orders were
    /// cancelled). Cash on delivery stays `unpaid` here: each order is paid when delivered.
    #[schema(value_type = String)]
    pub status: CheckoutPayment,
    /// What the buyer pays: the goods and shipping of the orders not cancelled before they were
    /// paid (while unpaid, what a bank transfer must bring exactly).
    pub amount_vnd: i64,
    /// What is owed back to the buyer: the price of orders cancelled after they were paid.
    pub refunds_owed_vnd: i64,
    /// The checkout's code: the bank transfer's content.
    pub reference: String,
    #[serde(with = "crate::time::rfc3339_option")]
    pub expires_at: Option<NaiveDateTime>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub paid_at: Option<NaiveDateTime>,
    /// For `bank_transfer` while `unpaid`: where to send the money, and the VietQR that fills it
    /// in (null once paid or expired).
    pub bank_transfer: Option<BankTransferView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BankTransferView {
    /// The receiving bank's NAPAS BIN.
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
    /// The EMVCo/VietQR payload (draw it as a QR code, or fetch `qr_svg`).
    pub vietqr: String,
    /// Path of the QR code as an SVG image.
    pub qr_svg: String,
}

/// A checkout: one order per household, and what the buyer pays.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckoutView {
    pub id: String,
    /// Short code the buyer quotes (and writes in a bank transfer's content).
    pub code: String,
    pub buyer_id: String,
    pub orders: Vec<OrderView>,
    /// The goods' value of all orders.
    pub goods_vnd: i64,
    pub shipping_vnd: i64,
    pub total_vnd: i64,
    pub payment: PaymentView,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
}

fn view(ctx: &Context, placed: CheckoutWithOrders) -> CheckoutView {
    let CheckoutWithOrders { checkout, orders } = placed;
    let amount_vnd = amount_due(orders.iter().map(|o| &o.order));
    let refunds_owed_vnd = refunds_owed(orders.iter().map(|o| &o.order));
    let payments = &ctx.settings.payments;
    let bank_transfer = service::vietqr_payload(ctx, &checkout, amount_vnd)
        .and_then(Result::ok)
        .map(|vietqr| BankTransferView {
            bank_bin: payments.bank_bin.clone(),
            account_number: payments.bank_account.clone(),
            account_name: payments.bank_account_name.clone(),
            vietqr,
            qr_svg: format!("/api/v1/checkouts/{}/qr.svg", checkout.id),
        });
    CheckoutView {
        id: checkout.id.to_db(),
        buyer_id: checkout.buyer_id.to_db(),
        orders: orders.into_iter().map(OrderView::from).collect(),
        goods_vnd: checkout.goods_vnd,
        shipping_vnd: checkout.shipping_vnd,
        total_vnd: checkout.total_vnd,
        payment: PaymentView {
            method: checkout.payment_method,
            status: checkout.payment_status,
            amount_vnd,
            refunds_owed_vnd,
            reference: checkout.code.clone(),
            expires_at: checkout.expires_at,
            paid_at: checkout.paid_at,
            bank_transfer,
        },
        code: checkout.code,
        created_at: checkout.created_at,
    }
}

/// Place an order (buyers): a checkout of one household. Every item's stock is taken or none
/// is; the order carries its parcel's shipping fee and its `checkout_id` (whose
/// `GET /checkouts/{id}` shows how to pay a bank transfer). With `Idempotency-Key`, the same
/// buyer sending the same key and body again within 24 hours gets the same order back (200,
/// `Idempotent-Replayed: true`); a failed attempt is not remembered.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = PlaceOrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1..=255 characters, per buyer")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The order, status `placed`", body = OrderView),
        (status = 200, description = "A replay of the order this key already placed", body = OrderView,
            headers(("Idempotent-Replayed" = String, description = "`true`"))),
        Unauthenticated,
        BuyersOnly,
        StockShort,
        (status = 422, description = "`validation_failed`, `mixed_households` or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn place_order(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<PlaceOrderRequest>,
) -> AppResult<HttpResponse> {
    let placed = placing::place(&ctx, caller, key, body.0.input(), Cart::OneHousehold).await?;
    let first = |placed: CheckoutWithOrders| placed.orders.into_iter().map(OrderView::from).next();
    Ok(match placed {
        Placed::Created(placed) => HttpResponse::Created().json(first(placed)),
        Placed::Replayed(placed) => replayed(first(placed)),
        Placed::ReplayedOrder(order) => replayed(OrderView::from(*order)),
    })
}

/// Check out a cart across farms (buyers): one order per household (up to 20), all stock of all
/// of them taken in one transaction or none (409 `insufficient_stock` naming every short item).
/// Each order's parcel pays its shipping by weight and zone. `bank_transfer` answers the VietQR
/// to pay with; unpaid, the checkout expires after `payments.expiry` (its orders cancelled).
/// `Idempotency-Key` as for orders.
#[utoipa::path(post, path = "/api/v1/checkouts", tag = "checkouts", request_body = PlaceOrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1..=255 characters, per buyer")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The checkout and its orders", body = CheckoutView),
        (status = 200, description = "A replay of the checkout this key already placed", body = CheckoutView,
            headers(("Idempotent-Replayed" = String, description = "`true`"))),
        Unauthenticated,
        BuyersOnly,
        StockShort,
        (status = 422, description = "`validation_failed` (more than 20 households, …) or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn place_checkout(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<PlaceOrderRequest>,
) -> AppResult<HttpResponse> {
    let placed =
        placing::place(&ctx, caller.clone(), key, body.0.input(), Cart::AcrossFarms).await?;
    Ok(match placed {
        Placed::Created(placed) => HttpResponse::Created()
            .insert_header((
                "Location",
                format!("/api/v1/checkouts/{}", placed.checkout.id),
            ))
            .json(view(&ctx, placed)),
        Placed::Replayed(placed) => replayed(view(&ctx, placed)),
        // Keys of orders placed before checkouts existed: that order's checkout is none.
        Placed::ReplayedOrder(_) => {
            return Err(crate::error::AppError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for an order",
            ));
        }
    })
}

/// One checkout, for its buyer and admins (others: 404).
#[utoipa::path(get, path = "/api/v1/checkouts/{id}", tag = "checkouts",
    params(("id" = String, Path, description = "Checkout id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The checkout", body = CheckoutView),
        Unauthenticated,
        NotFound,
    ))]
pub(crate) async fn get_checkout(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let placed = service::get(&ctx, caller, &id).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, placed)))
}

/// A bank-transfer checkout's VietQR as an SVG image (its buyer and admins; a cash-on-delivery
/// checkout, or one already paid or expired, has none: 404).
#[utoipa::path(get, path = "/api/v1/checkouts/{id}/qr.svg", tag = "checkouts",
    params(("id" = String, Path, description = "Checkout id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The QR code", content_type = "image/svg+xml", body = String),
        Unauthenticated,
        NotFound,
    ))]
pub(crate) async fn checkout_qr(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let svg = service::qr_svg(&ctx, caller, &id).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(svg))
}

/// The parcels of a cart, one per household, with each one's zone, weight and fee, and the
/// cart's totals; no stock is taken and nothing is stored. Anyone may ask.
#[utoipa::path(post, path = "/api/v1/shipping/quote", tag = "orders", request_body = QuoteRequest,
    responses(
        (status = 200, description = "The parcels and totals", body = Quote),
        Invalid,
    ))]
pub(crate) async fn quote_shipping(
    ctx: web::Data<Context>,
    body: ApiJson<QuoteRequest>,
) -> AppResult<HttpResponse> {
    let quote = service::quote(&ctx, body.0.input()).await?;
    Ok(HttpResponse::Ok().json(quote))
}
