//! `/healthz` (the process runs) and `/readyz` (the database answers).

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::api::{Problem, api_resource};
use crate::context::Context;
use crate::error::AppResult;

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, healthz);
    api_resource!(cfg, readyz);
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Running", body = serde_json::Value, example = json!({"status": "ok"}))))]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: 200 when the database answers, 503 `unavailable` when it does not.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = serde_json::Value, example = json!({"status": "ready"})),
        (status = 503, description = "`unavailable`: the database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn readyz(ctx: web::Data<Context>) -> AppResult<HttpResponse> {
    ctx.db
        .run(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}
