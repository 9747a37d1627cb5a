//! `POST /admin/imports`: NDJSON, read as it streams in, up to `server.import_body_limit`.

use super::model::ImportSummary;
use super::service;
use crate::api::resource::answers::{AdminsOnly, Unauthenticated};
use crate::api::{Problem, api_resource};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, import_history);
}

fn is_ndjson(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/x-ndjson"
                || mime == "application/ndjson"
                || mime == "application/jsonl"
        })
}

/// Import history from another platform (admins): NDJSON, one record per line (`household`,
/// `product`, `order`, `views`), up to 64 MiB. The whole file is checked first; any bad line
/// rejects it all and nothing is written. Imported orders take no stock.
#[utoipa::path(post, path = "/api/v1/admin/imports", tag = "imports", security(("bearer" = [])),
    request_body(content = String, content_type = "application/x-ndjson", description = "One JSON record per line"),
    responses(
        (status = 200, description = "What was written", body = ImportSummary),
        Unauthenticated,
        AdminsOnly,
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: not application/x-ndjson", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`import_rejected` with `errors: [{line, message}]`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn import_history(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    req: HttpRequest,
    body: web::Payload,
) -> AppResult<HttpResponse> {
    if !is_ndjson(&req) {
        return Err(AppError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the import as application/x-ndjson: one JSON record per line",
        ));
    }
    let limit = ctx.settings.server.import_body_limit;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let summary = service::import(&ctx, &caller, limit, declared, body).await?;
    Ok(HttpResponse::Ok().json(summary))
}
