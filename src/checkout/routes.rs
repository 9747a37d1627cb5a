//! `/shipping/quote`: what a cart across farms costs to ship, before it is bought.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::model::{CartInput, Quote};
use super::service;
use crate::api::resource::answers::Invalid;
use crate::api::{ApiJson, api_resource};
use crate::context::Context;
use crate::error::AppResult;
use crate::orders::routes::OrderItemRequest;

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
