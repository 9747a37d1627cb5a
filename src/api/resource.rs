//! Registering documented routes, and the problem answer every error is: what each domain's
//! routes share.
//!
//! Routes are registered with [`api_resource!`], which reads each handler's method and path from
//! its `#[utoipa::path]`: a handler without one does not compile, and a test compares the routes
//! registered here with the OpenAPI document's paths.

use std::collections::BTreeSet;
use std::sync::Mutex;

use actix_web::{Resource, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::HttpMethod;

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
            let mut resource = actix_web::web::resource($crate::api::resource::scoped(&full_path));
            resource = $crate::api::resource::add_route(
                resource, &full_path, <[<__path_ $first>] as utoipa::Path>::methods(), $first);
            $(
                assert_eq!(<[<__path_ $rest>] as utoipa::Path>::path(), full_path, "one resource, one path");
                resource = $crate::api::resource::add_route(
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

/// The problem answers that many routes give, declared once for the OpenAPI document: a route
/// lists them by name in its `responses(...)`; answers particular to a route keep their own
/// description there.
pub mod answers {
    use super::Problem;

    /// A problem answer with this status and description.
    macro_rules! problem_answer {
        ($name:ident, $status:literal, $description:literal) => {
            #[derive(utoipa::IntoResponses)]
            #[response(status = $status, description = $description, content_type = "application/problem+json")]
            pub struct $name(#[allow(dead_code)] Problem);
        };
        // An answer to retry later, with the seconds to wait.
        ($name:ident, $status:literal, $description:literal, retry_after) => {
            #[derive(utoipa::IntoResponses)]
            #[response(status = $status, description = $description, content_type = "application/problem+json",
                headers(("Retry-After" = u64, description = "Seconds to wait")))]
            pub struct $name(#[allow(dead_code)] Problem);
        };
    }
    pub(crate) use problem_answer;

    problem_answer!(
        Unauthenticated,
        401,
        "`unauthenticated`: no token, or an unknown, expired or revoked one"
    );
    problem_answer!(
        Forbidden,
        403,
        "`forbidden`: the caller's role or ownership does not allow it"
    );
    problem_answer!(
        NotFound,
        404,
        "`not_found`: no such resource, or one the caller may not see"
    );
    problem_answer!(
        Invalid,
        422,
        "`validation_failed`: the errors name each field"
    );
    problem_answer!(
        MalformedQuery,
        400,
        "`malformed_request`: a parameter of the wrong type"
    );
    problem_answer!(AdminsOnly, 403, "`forbidden`: admins only");
    problem_answer!(BuyersOnly, 403, "`forbidden`: only buyers order");
    problem_answer!(
        StockShort,
        409,
        "`insufficient_stock` naming every short item, `product_unavailable`, or for a bank transfer `too_many_unpaid_transfers`"
    );
    problem_answer!(
        PasswordsBusy,
        503,
        "`busy`: too many passwords being hashed or checked; see Retry-After",
        retry_after
    );
}
