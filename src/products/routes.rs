//! `/products` and `/products/{id}`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::cache::{ListingCache, Lookup};
use serde::Deserialize;

use serde::Serialize;

use super::model::{ProductEdit, ProductInput, ProductSearch};
use super::repo::Product;
use super::service;
use super::views::ViewCounter;
use crate::api::resource::answers::{
    Forbidden, Invalid, MalformedQuery, NotFound, Unauthenticated,
};
use crate::api::{ApiJson, ApiQuery};
use crate::api::{Problem, api_resource};
use crate::auth::{CurrentUser, MaybeUser};
use crate::catalogue::FacetCount;
use crate::client_address::client_address;
use crate::context::Context;
use crate::error::{AppError, AppResult};
use std::collections::BTreeMap;

/// One page of products (`{items, page, per_page, total}`) and, with `facets`, the counts per
/// facet value: `{"category": [{"value": "fruit", "count": 12}], "price": [{"from": 0, "to":
/// 50000, "count": 3}], …}`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ProductPage {
    items: Vec<Product>,
    page: i64,
    per_page: i64,
    total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    facets: Option<BTreeMap<&'static str, Vec<FacetCount>>>,
}

/// Up to 10 product names that begin with `q` (whatever its case and diacritics), the names most
/// listings share first.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Suggestions {
    suggestions: Vec<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SuggestQuery {
    /// What the buyer has typed so far (at most 200 characters).
    q: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": "01a2225c-e6cb-712d-9779-57fdd85fbb67", "name": "Vải thiều Lục Ngạn", "category": "fruit", "unit": "kg", "unit_weight_grams": 1000, "price_vnd": 30000, "stock_quantity": 500, "certifications": ["VietGAP"]}))]
pub struct CreateProductRequest {
    pub household_id: String,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    #[serde(default)]
    pub stock_quantity: i64,
    /// Defaults to the household's province (2008 map).
    pub origin_province_code: Option<String>,
    /// The map of `origin_province_code`: `2008` (default) or `current`.
    pub origin_map: Option<String>,
    #[serde(default)]
    pub certifications: Vec<String>,
    pub ocop_stars: Option<i64>,
    pub harvest_from: Option<String>,
    pub harvest_to: Option<String>,
    /// `active` (default) or `paused`.
    pub status: Option<String>,
}

impl CreateProductRequest {
    fn input(&self) -> ProductInput<'_> {
        ProductInput {
            name: &self.name,
            description: self.description.as_deref(),
            category: &self.category,
            unit: &self.unit,
            unit_weight_grams: self.unit_weight_grams,
            price_vnd: self.price_vnd,
            stock_quantity: self.stock_quantity,
            certifications: &self.certifications,
            ocop_stars: self.ocop_stars,
            harvest_from: self.harvest_from.as_deref(),
            harvest_to: self.harvest_to.as_deref(),
            status: self.status.as_deref(),
        }
    }
}

/// Any mutable field (null clears an optional one); `stock_quantity` sets the count.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub description: Option<Option<String>>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub unit_weight_grams: Option<i64>,
    pub price_vnd: Option<i64>,
    /// Sets the stock as of the moment the change is applied.
    pub stock_quantity: Option<i64>,
    /// Instead of `stock_quantity`: added to the stock as it is when the change is applied
    /// (negative: taken off), so units sold meanwhile stay sold. The result must stay between 0
    /// and 10^9.
    pub stock_adjustment: Option<i64>,
    pub origin_province_code: Option<String>,
    pub origin_map: Option<String>,
    pub certifications: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub ocop_stars: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub harvest_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub harvest_to: Option<Option<String>>,
    pub status: Option<String>,
}

impl UpdateProductRequest {
    fn edit(&self) -> ProductEdit<'_> {
        ProductEdit {
            name: self.name.as_deref(),
            description: self.description.as_ref().map(Option::as_deref),
            category: self.category.as_deref(),
            unit: self.unit.as_deref(),
            unit_weight_grams: self.unit_weight_grams,
            price_vnd: self.price_vnd,
            stock_quantity: self.stock_quantity,
            stock_adjustment: self.stock_adjustment,
            origin_province_code: self.origin_province_code.as_deref(),
            origin_map: self.origin_map.as_deref(),
            certifications: self.certifications.as_deref(),
            ocop_stars: self.ocop_stars,
            harvest_from: self.harvest_from.as_ref().map(Option::as_deref),
            harvest_to: self.harvest_to.as_ref().map(Option::as_deref),
            status: self.status.as_deref(),
        }
    }
}

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, list_products, create_product);
    api_resource!(cfg, suggest_products);
    api_resource!(cfg, get_product, update_product, archive_product);
}

/// List a product in an active household the caller owns (admins: any household).
/// `origin_province_code` defaults to the household's province; `status` may be `active` or `paused`.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = CreateProductRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The product", body = Product),
        Unauthenticated,
        (status = 403, description = "`forbidden`: buyers, or not the household's owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such household", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming each field (a suspended household is `household_id`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_product(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    body: ApiJson<CreateProductRequest>,
) -> AppResult<HttpResponse> {
    let request = &body.0;
    let product = service::create(
        &ctx,
        caller,
        &request.household_id,
        request
            .origin_province_code
            .as_deref()
            .map(|code| (code, request.origin_map.as_deref())),
        request.input(),
    )
    .await?;
    Ok(HttpResponse::Created().json(product))
}

/// Search and list active products of active households. Anonymous answers may be up to
/// `catalogue.cache_ttl` (1 s) old. `q`: every word must occur in the name
/// or description, whatever the case, Unicode form or diacritics (`đ` = `d`). With `status`, owners
/// (together with their `household_id`) and admins list paused or archived products too.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductSearch),
    responses(
        (status = 200, description = "One page", body = ProductPage),
        MalformedQuery,
        (status = 401, description = "`unauthenticated`: `status` without signing in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: `status` by someone else than an admin or the owner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: unknown sort, category, certification; bad price range or paging; `q` over 200 characters or 10 words, any parameter over 200 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_products(
    req: HttpRequest,
    ctx: web::Data<Context>,
    cache: web::Data<ListingCache>,
    caller: MaybeUser,
    query: ApiQuery<ProductSearch>,
) -> AppResult<HttpResponse> {
    // Anonymous catalogue answers are the same for everyone: serve them from the short cache.
    // Keyed by the parsed query: parameters the listing does not know make no new entries.
    let search = query.0;
    let key = (caller.0.is_none() && search.status.is_none())
        .then(|| super::cache::key(&search))
        .flatten();
    if let Some(key) = &key {
        let mut waited = false;
        loop {
            let refreshed = cache.refreshed();
            match cache.lookup(key) {
                Lookup::Serve(body) => {
                    return Ok(HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body));
                }
                // Once: a refresher that does not come back within a ttl is not waited for again.
                Lookup::WaitForRefresh if !waited => {
                    waited = true;
                    refreshed.await;
                }
                _ => break,
            }
        }
    }
    let client = client_address(&req, &ctx.settings.auth.trusted_proxies);
    let list = service::list(&ctx, caller.0, &search, client).await?;
    let page = list.page;
    let answer = ProductPage {
        items: page.items,
        page: page.page,
        per_page: page.per_page,
        total: page.total,
        facets: list.facets,
    };
    let body =
        web::Bytes::from(serde_json::to_vec(&answer).map_err(|e| AppError::Internal(e.into()))?);
    if let Some(key) = key {
        cache.put(key, body.clone());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// Completions of a product name as the buyer types (`vai th` → `Vải thiều Lục Ngạn`), from
/// the public catalogue; a change shows within 2 s.
#[utoipa::path(get, path = "/api/v1/products/suggest", tag = "products", params(SuggestQuery),
    responses(
        (status = 200, description = "Up to 10 names", body = Suggestions),
        MalformedQuery,
        (status = 422, description = "`validation_failed`: `q` over 200 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn suggest_products(
    ctx: web::Data<Context>,
    query: ApiQuery<SuggestQuery>,
) -> AppResult<HttpResponse> {
    let suggestions = service::suggest(&ctx, query.0.q.as_deref().unwrap_or_default()).await?;
    Ok(HttpResponse::Ok().json(Suggestions { suggestions }))
}

/// One product; counts one view (at most one per client address in `views.dedup_window`, 10 minutes). Archived, paused or hidden ones are 404 except for owner and admins.
/// `views` includes views this server has counted but not written yet.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products",
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = Product),
        NotFound,
    ))]
pub(crate) async fn get_product(
    ctx: web::Data<Context>,
    views: web::Data<ViewCounter>,
    req: HttpRequest,
    caller: MaybeUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let client = client_address(&req, &ctx.settings.auth.trusted_proxies);
    let product = service::get(&ctx, &views, caller.0, &id, client).await?;
    Ok(HttpResponse::Ok().json(product))
}

/// Change a product (owner or admin). `status` `archived` archives it, `active` restores it.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", request_body = UpdateProductRequest,
    params(("id" = String, Path, description = "Product id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed product", body = Product),
        Unauthenticated,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub(crate) async fn update_product(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<UpdateProductRequest>,
) -> AppResult<HttpResponse> {
    let product = service::update(&ctx, caller, &id, body.0.edit()).await?;
    Ok(HttpResponse::Ok().json(product))
}

/// Archive a product (idempotent): no longer listed or orderable; old orders keep it.
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "products",
    params(("id" = String, Path, description = "Product id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Archived"),
        Unauthenticated,
        Forbidden,
        NotFound,
    ))]
pub(crate) async fn archive_product(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    service::archive(&ctx, caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
