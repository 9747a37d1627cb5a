//! `POST /admin/imports`: NDJSON, read as it streams in, up to `server.import_body_limit`.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use super::model::ImportSummary;
use super::service::{self, NdjsonParser};
use crate::api::resource::answers::Unauthenticated;
use crate::api::{Problem, api_resource};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};

/// How much of an upload is parsed in one go on the blocking pool.
const PARSE_BATCH_BYTES: usize = 1 << 20;

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
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: not application/x-ndjson", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`import_rejected` with `errors: [{line, message}]`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn import_history(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    req: HttpRequest,
    mut body: web::Payload,
) -> AppResult<HttpResponse> {
    if !caller.is_admin() {
        return Err(AppError::forbidden("imports are for admins"));
    }
    if !is_ndjson(&req) {
        return Err(AppError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the import as application/x-ndjson: one JSON record per line",
        ));
    }
    let limit = ctx.settings.server.import_body_limit;
    let too_large = || {
        AppError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("an import is at most {limit} bytes"),
        )
    };
    if let Some(length) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        return Err(too_large());
    }
    // Parsing a 64 MiB file is seconds of CPU: it runs on the blocking pool, a batch at a time as
    // the upload arrives, never on the async worker that serves other requests.
    let mut parser = NdjsonParser::default();
    let mut batch = web::BytesMut::new();
    let mut received = 0usize;
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| AppError::malformed(format!("could not read the upload: {e}")))?;
        received += chunk.len();
        if received > limit {
            return Err(too_large());
        }
        batch.extend_from_slice(&chunk);
        if batch.len() >= PARSE_BATCH_BYTES {
            let bytes = batch.split().freeze();
            parser = web::block(move || {
                parser.feed(&bytes);
                parser
            })
            .await?;
        }
    }
    let (records, errors) = web::block(move || {
        parser.feed(&batch);
        parser.finish()
    })
    .await?;
    if records.is_empty() && errors.is_empty() {
        return Err(AppError::unprocessable(
            "import_rejected",
            "the file holds no records",
        ));
    }
    let timezone = ctx.timezone;
    let summary = ctx
        .db
        .run(move |conn| {
            let plan = service::plan(conn, records, errors)?;
            service::write(conn, plan, timezone, &|_| {})
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}
