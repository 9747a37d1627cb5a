//! `/orders` and the status moves.

use actix_web::{HttpResponse, web};

use serde::Deserialize;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::model::{
    LineInput, OrderInput, OrderSearch, OrderStatus, OrderWithItems, PaymentMethod, PaymentStatus,
    ShippingInput,
};
use super::service::{self, Move};
use crate::api::resource::answers::{
    Forbidden, Invalid, NotFound, Unauthenticated, problem_answer,
};
use crate::api::{ApiQuery, OptionalJson, page_schema};
use crate::api::{Problem, api_resource};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::AppResult;
use crate::provinces::ProvinceMap;

page_schema!(OrderPage, OrderView);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItemRequest {
    pub product_id: String,
    pub quantity: i64,
}

/// `country_code` is ISO 3166-1 alpha-2 (default `VN`); another country makes an export order.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRequest {
    pub recipient_name: String,
    pub phone: String,
    pub address: String,
    /// The commune, ward or special zone (current map): sets the province.
    pub commune_code: Option<String>,
    /// On the 2008 map unless `province_map` says `current`.
    pub province_code: Option<String>,
    /// `2008` (default) or `current`.
    pub province_map: Option<String>,
    pub country_code: Option<String>,
}

/// A cart: at most 100 items, each product once, of one household (`POST /orders`) or of up to 20
/// (`POST /checkouts`); `payment_method` `cod` (default) or `bank_transfer`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"product_id": "01a2225c-e6cb-712d-9779-57fdd85fbb67", "quantity": 3}], "shipping": {"recipient_name": "Trần Thị Hoa", "phone": "0987 654 321", "address": "12 Lê Lợi, Quận 1", "province_code": "79", "country_code": "VN"}}))]
pub struct PlaceOrderRequest {
    pub items: Vec<OrderItemRequest>,
    pub shipping: ShippingRequest,
    pub payment_method: Option<String>,
    pub note: Option<String>,
}

impl PlaceOrderRequest {
    pub(crate) fn input(&self) -> OrderInput<'_> {
        let shipping = &self.shipping;
        OrderInput {
            items: self
                .items
                .iter()
                .map(|item| LineInput {
                    product: &item.product_id,
                    quantity: item.quantity,
                    unit_price_vnd: None,
                })
                .collect(),
            shipping: ShippingInput {
                recipient_name: Some(&shipping.recipient_name),
                phone: Some(&shipping.phone),
                address: Some(&shipping.address),
                commune_code: shipping.commune_code.as_deref(),
                province_code: shipping.province_code.as_deref(),
                province_map: shipping.province_map.as_deref(),
                country_code: shipping.country_code.as_deref(),
            },
            payment_method: self.payment_method.as_deref(),
            note: self.note.as_deref(),
        }
    }
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

problem_answer!(
    InvalidTransition,
    409,
    "`invalid_transition`: the order's status does not allow this move"
);

/// The order routes but the collection's: `/orders` lists (here) and places (a checkout's), one
/// resource with both methods, registered by the checkout routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, get_order);
    api_resource!(cfg, confirm_order);
    api_resource!(cfg, ship_order);
    api_resource!(cfg, deliver_order);
    api_resource!(cfg, cancel_order);
}

/// Orders the caller may see, newest first: a buyer their own, a farmer their households', an
/// admin all. `from`/`to` are Vietnam calendar days on `placed_at`.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderSearch), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = OrderPage),
        Unauthenticated,
        Invalid,
    ))]
pub(crate) async fn list_orders(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    query: ApiQuery<OrderSearch>,
) -> AppResult<HttpResponse> {
    let page = service::list(&ctx, caller, &query.0).await?;
    Ok(HttpResponse::Ok().json(page.map(OrderView::from)))
}

/// One order the caller may see (others: 404).
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The order", body = OrderView),
        Unauthenticated,
        NotFound,
    ))]
pub(crate) async fn get_order(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(OrderView::from(service::get(&ctx, caller, &id).await?)))
}

/// placed → confirmed, by the household's owner. The body may be empty.
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", tag = "orders",
    params(("id" = String, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The confirmed order", body = OrderView),
        Forbidden,
        NotFound,
        InvalidTransition,
    ))]
pub(crate) async fn confirm_order(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    _body: OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<HttpResponse> {
    let order = service::make_move(&ctx, caller, &id, Move::Confirm).await?;
    Ok(HttpResponse::Ok().json(OrderView::from(order)))
}

/// confirmed → shipped, by the household's owner, with an optional tracking code.
#[utoipa::path(post, path = "/api/v1/orders/{id}/ship", tag = "orders", request_body(content = Option<ShipRequest>),
    params(("id" = String, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The shipped order", body = OrderView),
        Forbidden,
        NotFound,
        InvalidTransition,
        (status = 422, description = "`validation_failed`: tracking code over 100 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn ship_order(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: OptionalJson<ShipRequest>,
) -> AppResult<HttpResponse> {
    let tracking_code = body.0.unwrap_or_default().tracking_code;
    let order = service::make_move(&ctx, caller, &id, Move::Ship { tracking_code }).await?;
    Ok(HttpResponse::Ok().json(OrderView::from(order)))
}

/// shipped → delivered, by the owner, the buyer or an admin; cash on delivery becomes paid.
#[utoipa::path(post, path = "/api/v1/orders/{id}/deliver", tag = "orders",
    params(("id" = String, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The delivered order", body = OrderView),
        Forbidden,
        NotFound,
        InvalidTransition,
    ))]
pub(crate) async fn deliver_order(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    _body: OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<HttpResponse> {
    let order = service::make_move(&ctx, caller, &id, Move::Deliver).await?;
    Ok(HttpResponse::Ok().json(OrderView::from(order)))
}

/// Cancel: the buyer from placed; the owner from placed or confirmed; an admin from anything but
/// delivered. The stock goes back in the same transaction, exactly once.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", request_body(content = Option<CancelRequest>),
    params(("id" = String, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled order", body = OrderView),
        Forbidden,
        NotFound,
        InvalidTransition,
        (status = 422, description = "`validation_failed`: reason over 500 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn cancel_order(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: OptionalJson<CancelRequest>,
) -> AppResult<HttpResponse> {
    let reason = body.0.unwrap_or_default().reason;
    let order = service::make_move(&ctx, caller, &id, Move::Cancel { reason }).await?;
    Ok(HttpResponse::Ok().json(OrderView::from(order)))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderItemView {
    pub product_id: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price_vnd: i64,
    pub unit_weight_grams: i64,
    pub line_total_vnd: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShippingView {
    pub recipient_name: String,
    pub phone: String,
    pub address: String,
    pub commune_code: Option<String>,
    pub province_code: Option<String>,
    /// The map `province_code` is on (when there is one).
    pub province_map: Option<ProvinceMap>,
    pub country_code: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: String,
    pub buyer_id: Option<String>,
    pub household_id: String,
    pub status: OrderStatus,
    pub items: Vec<OrderItemView>,
    pub total_vnd: i64,
    pub total_weight_grams: i64,
    pub shipping: ShippingView,
    pub payment_method: PaymentMethod,
    pub payment_status: PaymentStatus,
    pub tracking_code: Option<String>,
    pub note: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub placed_at: NaiveDateTime,
    #[serde(with = "crate::time::rfc3339_option")]
    pub confirmed_at: Option<NaiveDateTime>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub shipped_at: Option<NaiveDateTime>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub delivered_at: Option<NaiveDateTime>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: Option<String>,
    /// The checkout that placed it (none for imported history).
    pub checkout_id: Option<String>,
    /// The parcel's shipping fee; `total_vnd` is the goods' value.
    pub shipping_vnd: i64,
    /// The zone the fee was priced at: `same_province`, `same_region`, `other_region` or `export_<zone>`.
    pub shipping_zone: Option<String>,
}

impl From<OrderWithItems> for OrderView {
    fn from(OrderWithItems { order, items }: OrderWithItems) -> Self {
        OrderView {
            items: items
                .into_iter()
                .map(|item| OrderItemView {
                    product_id: item.product_id.to_db(),
                    product_name: item.product_name,
                    quantity: item.quantity,
                    unit_price_vnd: item.unit_price_vnd,
                    unit_weight_grams: item.unit_weight_grams,
                    line_total_vnd: item.line_total_vnd,
                })
                .collect(),
            shipping: ShippingView {
                recipient_name: order.recipient_name,
                phone: order.phone,
                address: order.address,
                commune_code: order.commune_code,
                province_map: order.province_code.as_ref().map(|_| order.province_map),
                province_code: order.province_code,
                country_code: order.country_code,
            },
            id: order.id.to_db(),
            buyer_id: order.buyer_id.map(|id| id.to_db()),
            household_id: order.household_id.to_db(),
            status: order.status,
            total_vnd: order.total_vnd,
            total_weight_grams: order.total_weight_grams,
            payment_method: order.payment_method,
            payment_status: order.payment_status,
            tracking_code: order.tracking_code,
            note: order.note,
            placed_at: order.placed_at,
            confirmed_at: order.confirmed_at,
            shipped_at: order.shipped_at,
            delivered_at: order.delivered_at,
            cancelled_at: order.cancelled_at,
            cancel_reason: order.cancel_reason,
            checkout_id: order.checkout_id.map(|id| id.to_db()),
            shipping_vnd: order.shipping_vnd,
            shipping_zone: order.shipping_zone,
        }
    }
}
