//! `/reports/*`: JSON by default, CSV with `?format=csv` or `Accept: text/csv`, and the SVG chart.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::service::{self, ReportQuery};
use super::{chart, csv_out};
use crate::api::ApiQuery;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::startup::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports/uptake").route(web::get().to(uptake_report)))
        .service(web::resource("/reports/uptake/breakdown").route(web::get().to(uptake_breakdown)))
        .service(web::resource("/reports/uptake/chart.svg").route(web::get().to(uptake_chart)))
        .service(web::resource("/reports/products").route(web::get().to(products_report)));
}

/// Whether the client asked for CSV; an unknown `format` is a 422.
fn wants_csv(req: &HttpRequest, query: &ReportQuery) -> AppResult<bool> {
    match query.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(AppError::invalid_field("format", "must be json or csv")),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))),
    }
}

fn csv_response(name: &str, body: Result<Vec<u8>, String>) -> AppResult<HttpResponse> {
    let body = body.map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(body))
}

async fn uptake_report(
    state: web::Data<AppState>,
    caller: CurrentUser,
    req: HttpRequest,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req, &query.0)?;
    let report = service::uptake(&state, &caller, &query.0).await?;
    if csv {
        csv_response("uptake", csv_out::uptake(&report))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

async fn uptake_breakdown(
    state: web::Data<AppState>,
    caller: CurrentUser,
    req: HttpRequest,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req, &query.0)?;
    let report = service::breakdown(&state, &caller, &query.0).await?;
    if csv {
        csv_response(
            &format!("uptake-by-{}", report.by),
            csv_out::breakdown(&report),
        )
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

async fn products_report(
    state: web::Data<AppState>,
    caller: CurrentUser,
    req: HttpRequest,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req, &query.0)?;
    let report = service::products(&state, &caller, &query.0).await?;
    if csv {
        csv_response("products", csv_out::products(&report))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

async fn uptake_chart(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let data = service::chart_data(&state, &caller, &query.0).await?;
    let svg = chart::render(&data)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("drawing the chart failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"))
        .body(svg))
}
