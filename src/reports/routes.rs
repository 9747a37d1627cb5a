//! `/reports/*`: JSON by default, CSV with `?format=csv` or `Accept: text/csv`, and the SVG chart.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use serde::Deserialize;

use super::model::{BreakdownReport, ProductReport, ReportRequest, UptakeReport};
use super::service;
use super::{chart, csv_out};
use crate::api::ApiQuery;
use crate::api::resource::answers::{AdminsOnly, MalformedQuery, Unauthenticated};
use crate::api::{Problem, api_resource};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};

/// Every query parameter any report takes; each report reads the ones it needs.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day of the period, `YYYY-MM-DD` (Vietnam time); required.
    pub from: Option<String>,
    /// Last day of the period, included; required.
    pub to: Option<String>,
    /// `previous_year` (default), `previous_period` or `none`.
    pub compare: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// Breakdown: `province`, `category`, `month` or `household`.
    pub by: Option<String>,
    /// Products report: `value` (default), `volume` or `views`.
    pub sort: Option<String>,
    /// Rows: of the products report 1 to 500 (default 20); of a breakdown 1 to 20,000 (by
    /// household default 100).
    pub limit: Option<i64>,
    /// Products report: words that must all occur in the product's name or description.
    pub q: Option<String>,
    /// Products report: only this category.
    pub category: Option<String>,
    /// Products report: only products from this province (origin).
    pub province_code: Option<String>,
    /// The map of provinces: `current` (default) or `2008`; for the breakdown by province and the
    /// products report's `province_code`.
    pub map: Option<String>,
    /// Chart: the metric drawn (default `transaction_value_vnd`).
    pub metric: Option<String>,
}

impl ReportQuery {
    fn request(&self) -> ReportRequest<'_> {
        ReportRequest {
            map: self.map.as_deref(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            compare: self.compare.as_deref(),
            by: self.by.as_deref(),
            sort: self.sort.as_deref(),
            limit: self.limit,
            q: self.q.as_deref(),
            category: self.category.as_deref(),
            province_code: self.province_code.as_deref(),
            metric: self.metric.as_deref(),
        }
    }
}

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, uptake_report);
    api_resource!(cfg, uptake_breakdown);
    api_resource!(cfg, uptake_chart);
    api_resource!(cfg, products_report);
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

/// The report as JSON, or as CSV (an attachment named `name.csv`) when the client asked for it.
fn respond<T: serde::Serialize>(
    as_csv: bool,
    name: &str,
    report: &T,
    to_csv: fn(&T) -> Result<Vec<u8>, String>,
) -> AppResult<HttpResponse> {
    if !as_csv {
        return Ok(HttpResponse::Ok().json(report));
    }
    let body = to_csv(report)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(body))
}

/// Uptake metrics of a period (inclusive Vietnam calendar days) against the same days a year
/// earlier (`compare=previous_year`, 29 February → 28 February), the equally long period before
/// (`previous_period`) or nothing (`none`). CSV with `format=csv` or `Accept: text/csv`.
#[utoipa::path(get, path = "/api/v1/reports/uptake", tag = "reports", params(ReportQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "The metrics (or CSV: metric,current,previous,change,growth_pct)", body = UptakeReport),
        MalformedQuery,
        Unauthenticated,
        AdminsOnly,
        (status = 422, description = "`validation_failed`: bad dates, `from` after `to`, unknown enum values", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn uptake_report(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    req: HttpRequest,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req, &query.0)?;
    let report = service::uptake(&ctx, &caller, &query.0.request()).await?;
    respond(csv, "uptake", &report, csv_out::uptake)
}

/// The uptake metrics per province (of the household), category, month (`YYYY-MM`, compared with
/// the same part of the compared period) or household (busiest first, `limit` default 100).
/// By category, a household counts in each category it lists products in and an order in each
/// category it has lines in.
#[utoipa::path(get, path = "/api/v1/reports/uptake/breakdown", tag = "reports", params(ReportQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One row per group", body = BreakdownReport),
        MalformedQuery,
        Unauthenticated,
        AdminsOnly,
        (status = 422, description = "`validation_failed`: bad dates, `from` after `to`, unknown enum values", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn uptake_breakdown(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    req: HttpRequest,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req, &query.0)?;
    let report = service::breakdown(&ctx, &caller, &query.0.request()).await?;
    respond(
        csv,
        &format!("uptake-by-{}", report.by),
        &report,
        csv_out::breakdown,
    )
}

/// Products by value, volume or views (top `limit`, 1..=500, default 20) with totals over every
/// product matching `q`, `category` and `province_code` (origin); counts the product's own order
/// lines, cancelled orders excepted.
#[utoipa::path(get, path = "/api/v1/reports/products", tag = "reports", params(ReportQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Top rows and totals", body = ProductReport),
        MalformedQuery,
        Unauthenticated,
        AdminsOnly,
        (status = 422, description = "`validation_failed`: bad dates, `from` after `to`, unknown enum values; `q` over 200 characters or 10 words", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn products_report(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    req: HttpRequest,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req, &query.0)?;
    let report = service::products(&ctx, &caller, &query.0.request()).await?;
    respond(csv, "products", &report, csv_out::products)
}

/// One metric month by month (`metric`, default `transaction_value_vnd`), this period's bars
/// beside the compared period's, as SVG.
#[utoipa::path(get, path = "/api/v1/reports/uptake/chart.svg", tag = "reports", params(ReportQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "An SVG chart", content_type = "image/svg+xml", body = String),
        MalformedQuery,
        Unauthenticated,
        AdminsOnly,
        (status = 422, description = "`validation_failed`: bad dates, `from` after `to`, unknown enum values", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn uptake_chart(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    query: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let data = service::chart_data(&ctx, &caller, &query.0.request()).await?;
    let svg = chart::render(&data)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("drawing the chart failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"))
        .body(svg))
}
