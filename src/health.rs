//! `/healthz` (the process runs) and `/readyz` (the database answers).

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::error::AppResult;
use crate::startup::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .db
        .run(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}
