//! The OpenAPI 3 document (utoipa) at `/api/v1/openapi.json`, and Swagger UI at `/docs`, served
//! from the binary (vendored assets, no other host contacted).
//!
//! Routes are registered with [`crate::api::api_resource!`], which reads each handler's method
//! and path from its `#[utoipa::path]`: a handler without one does not compile, and a test
//! compares the routes registered with the document's paths.

use actix_web::web;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `/metrics` is served by middleware; documented here.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text: requests by route and status, latency histogram, pool use, orders placed, failed logins", content_type = "text/plain")))]
#[allow(dead_code)]
fn metrics_doc() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "nongsan",
        description = "Backend for agricultural e-commerce marketplaces. Every error is application/problem+json \
            with a stable `code`. Money is integer đồng. Where API.md is silent, this document says what the server does.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        crate::health::healthz, crate::health::readyz, metrics_doc,
        crate::auth::routes::register, crate::auth::routes::login, crate::auth::routes::logout, crate::auth::routes::me,
        crate::accounts::routes::get_user, crate::accounts::routes::update_user,
        crate::provinces::routes::list_provinces, crate::provinces::routes::list_communes,
        crate::households::routes::list_households, crate::households::routes::create_household,
        crate::households::routes::get_household, crate::households::routes::update_household,
        crate::products::routes::list_products, crate::products::routes::create_product,
        crate::products::routes::get_product, crate::products::routes::update_product,
        crate::products::routes::archive_product, crate::products::routes::suggest_products,
        crate::checkout::routes::quote_shipping,
        crate::orders::routes::list_orders, crate::checkout::routes::place_order, crate::orders::routes::get_order,
        crate::orders::routes::confirm_order, crate::orders::routes::ship_order, crate::orders::routes::deliver_order,
        crate::orders::routes::cancel_order,
        crate::checkout::routes::place_checkout, crate::checkout::routes::get_checkout,
        crate::checkout::routes::checkout_qr,
        crate::payments::routes::bank_notification, crate::payments::routes::unmatched_payments,
        crate::ledger::routes::household_ledger, crate::ledger::routes::create_payout,
        crate::ledger::routes::get_payout, crate::ledger::routes::payout_bank_file,
        crate::reports::routes::uptake_report, crate::reports::routes::uptake_breakdown,
        crate::reports::routes::uptake_chart, crate::reports::routes::products_report,
        crate::imports::routes::import_history,
    ),
    components(schemas(crate::api::Problem, crate::reports::metric::MetricDoc, crate::reports::metric::MetricsDoc)),
    modifiers(&BearerToken),
    tags(
        (name = "accounts"), (name = "households"), (name = "products"), (name = "orders"),
        (name = "checkouts"), (name = "reports"), (name = "imports"), (name = "operations")
    )
)]
pub struct ApiDoc;

/// `/api/v1/openapi.json` and `/docs` (must be registered before the `/api/v1` scope).
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::redirect("/docs", "/docs/")).service(
        SwaggerUi::new("/docs/{_:.*}")
            .url("/api/v1/openapi.json", ApiDoc::openapi())
            .config(Config::default().validator_url("none")),
    );
}
