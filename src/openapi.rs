//! The OpenAPI 3 document (utoipa) at `/api/v1/openapi.json`, and Swagger UI at `/docs`, served
//! from the binary (vendored assets, no other host contacted).
//!
//! Routes are registered with [`api_resource!`], which reads each handler's method and path from
//! its `#[utoipa::path]`: a handler without one does not compile, and a test compares the routes
//! registered here with the document's paths.

use std::collections::BTreeSet;
use std::sync::Mutex;

use actix_web::{Resource, web};
use serde::Serialize;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Every (method, path) registered through [`api_resource!`], for the completeness test.
static REGISTERED: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

pub fn registered_routes() -> BTreeSet<(String, String)> {
    REGISTERED.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The path inside the `/api/v1` scope (root paths stay as they are).
pub fn scoped(full_path: &str) -> String {
    full_path
        .strip_prefix("/api/v1")
        .unwrap_or(full_path)
        .to_owned()
}

fn method_name(method: &HttpMethod) -> String {
    serde_json::to_value(method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Adds one documented handler to a resource and records it.
pub fn add_route<F, Args>(
    mut resource: Resource,
    full_path: &str,
    methods: Vec<HttpMethod>,
    handler: F,
) -> Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    for method in methods {
        let name = method_name(&method);
        let actix_method = match method {
            HttpMethod::Get => actix_web::http::Method::GET,
            HttpMethod::Post => actix_web::http::Method::POST,
            HttpMethod::Put => actix_web::http::Method::PUT,
            HttpMethod::Delete => actix_web::http::Method::DELETE,
            HttpMethod::Patch => actix_web::http::Method::PATCH,
            HttpMethod::Head => actix_web::http::Method::HEAD,
            HttpMethod::Options => actix_web::http::Method::OPTIONS,
            HttpMethod::Trace => actix_web::http::Method::TRACE,
        };
        REGISTERED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((name, full_path.to_owned()));
        resource = resource.route(web::method(actix_method).to(handler.clone()));
    }
    resource
}

/// Registers handlers that share one path as one resource (so a wrong method is 405), taking
/// the method and path from each handler's `#[utoipa::path]`.
macro_rules! api_resource {
    ($cfg:expr, $first:ident $(, $rest:ident)* $(,)?) => {
        pastey::paste! {{
            let full_path = <[<__path_ $first>] as utoipa::Path>::path();
            let mut resource = actix_web::web::resource($crate::openapi::scoped(&full_path));
            resource = $crate::openapi::add_route(
                resource, &full_path, <[<__path_ $first>] as utoipa::Path>::methods(), $first);
            $(
                assert_eq!(<[<__path_ $rest>] as utoipa::Path>::path(), full_path, "one resource, one path");
                resource = $crate::openapi::add_route(
                    resource, &full_path, <[<__path_ $rest>] as utoipa::Path>::methods(), $rest);
            )*
            $cfg.service(resource);
        }}
    };
}
pub(crate) use api_resource;

/// An RFC 9457 problem, as every error is answered.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"type": "about:blank", "title": "Conflict", "status": 409, "code": "insufficient_stock",
    "detail": "only 3 units of 'Vải thiều Bắc Giang' are left",
    "errors": [{"field": "items[0].quantity", "message": "only 3 left"}]}))]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable snake_case code for programs (`validation_failed`, `insufficient_stock`, …).
    pub code: String,
    pub detail: String,
    /// Field problems (`{field, message}`) or, for imports, bad lines (`{line, message}`).
    pub errors: Vec<serde_json::Value>,
}

/// A metric this period against the compared one.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"current": 7987, "previous": 2745, "change": 5242, "growth_pct": 191.0}))]
pub struct MetricDoc {
    /// A count, đồng, or kilograms (volume metrics) this period.
    pub current: f64,
    /// The same in the compared period; null with `compare=none`.
    pub previous: Option<f64>,
    pub change: Option<f64>,
    /// `(current - previous) / previous × 100`, rounded half away from zero to one decimal;
    /// null when previous is 0 or without a comparison.
    pub growth_pct: Option<f64>,
}

/// The nine uptake metrics.
#[derive(Serialize, ToSchema)]
pub struct MetricsDoc {
    /// Households whose `joined_at` falls in the period.
    pub households_joined: MetricDoc,
    /// Households joined up to the period's end and not suspended.
    pub households_total: MetricDoc,
    /// Products created in the period.
    pub products_listed: MetricDoc,
    /// Products created up to the period's end and not archived.
    pub products_total: MetricDoc,
    /// Orders placed in the period and not cancelled.
    pub orders: MetricDoc,
    /// Sum of `total_vnd` of those orders.
    pub transaction_value_vnd: MetricDoc,
    /// Sum of `total_weight_grams` / 1000 of those orders.
    pub volume_kg: MetricDoc,
    /// The same for orders shipped outside Vietnam.
    pub export_volume_kg: MetricDoc,
    /// Product page views counted in the period.
    pub product_views: MetricDoc,
}

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
        crate::auth::routes::get_user, crate::auth::routes::update_user,
        crate::provinces::list_provinces,
        crate::households::routes::list_households, crate::households::routes::create_household,
        crate::households::routes::get_household, crate::households::routes::update_household,
        crate::products::routes::list_products, crate::products::routes::create_product,
        crate::products::routes::get_product, crate::products::routes::update_product,
        crate::products::routes::archive_product,
        crate::orders::routes::list_orders, crate::orders::routes::place_order, crate::orders::routes::get_order,
        crate::orders::routes::confirm_order, crate::orders::routes::ship_order, crate::orders::routes::deliver_order,
        crate::orders::routes::cancel_order,
        crate::reports::routes::uptake_report, crate::reports::routes::uptake_breakdown,
        crate::reports::routes::uptake_chart, crate::reports::routes::products_report,
        crate::imports::routes::import_history,
    ),
    components(schemas(Problem, MetricDoc, MetricsDoc)),
    modifiers(&BearerToken),
    tags(
        (name = "accounts"), (name = "households"), (name = "products"), (name = "orders"),
        (name = "reports"), (name = "imports"), (name = "operations")
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
