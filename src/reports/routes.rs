//! `/reports/*`: JSON by default, CSV with `?format=csv` or `Accept: text/csv`, and the SVG chart.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;

use super::model::{BreakdownReport, ProductReport, ReportRequest, UptakeReport};
use super::service;
use super::{chart, csv_out};
use crate::api::Problem;
use crate::api::api_resource;
use crate::api::resource::answers::problem_answer;
use crate::api::resource::answers::{AdminsOnly, MalformedQuery, Unauthenticated};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, uptake_report);
    api_resource!(cfg, uptake_breakdown);
    api_resource!(cfg, uptake_chart);
    api_resource!(cfg, products_report);
}

/// What every report handler takes: the context, the signed-in caller, the query and whether
/// the client asked for CSV (an unknown `format` is a 422).
pub(crate) struct ReportCall {
    ctx: web::Data<Context>,
    caller: CurrentUser,
    query: ReportRequest,
    csv: bool,
}

impl FromRequest for ReportCall {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = CurrentUser::from_request(req, payload);
        let ctx = req.app_data::<web::Data<Context>>().cloned();
        let query = crate::api::parse_query::<ReportRequest>(req.query_string());
        let accepts_csv = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"));
        Box::pin(async move {
            let caller = caller.await?;
            let query = query?;
            let ctx = ctx.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no Context")))?;
            let csv = match query.format.as_deref() {
                Some("csv") => true,
                Some("json") => false,
                Some(_) => return Err(AppError::invalid_field("format", "must be json or csv")),
                None => accepts_csv,
            };
            Ok(ReportCall {
                ctx,
                caller,
                query,
                csv,
            })
        })
    }
}

impl ReportCall {
    /// The report as JSON, or as CSV (an attachment named `name.csv`) when the client asked for it.
    fn respond<T: serde::Serialize>(
        &self,
        name: &str,
        report: &T,
        to_csv: fn(&T) -> Result<Vec<u8>, String>,
    ) -> AppResult<HttpResponse> {
        if !self.csv {
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
}

problem_answer!(
    ReportInvalid,
    422,
    "`validation_failed`: bad dates, `from` after `to`, unknown enum values; of the products report, `q` over 200 characters or 10 words"
);

/// Uptake metrics of a period (inclusive Vietnam calendar days) against the same days a year
/// earlier (`compare=previous_year`, 29 February → 28 February), the equally long period before
/// (`previous_period`) or nothing (`none`). CSV with `format=csv` or `Accept: text/csv`.
#[utoipa::path(get, path = "/api/v1/reports/uptake", tag = "reports", params(ReportRequest), security(("bearer" = [])),
    responses(
        (status = 200, description = "The metrics (or CSV: metric,current,previous,change,growth_pct)", body = UptakeReport),
        MalformedQuery, Unauthenticated, AdminsOnly, ReportInvalid,
    ))]
pub(crate) async fn uptake_report(call: ReportCall) -> AppResult<HttpResponse> {
    let report = service::uptake(&call.ctx, &call.caller, &call.query).await?;
    call.respond("uptake", &report, csv_out::uptake)
}

/// The uptake metrics per province (of the household), category, month (`YYYY-MM`, compared with
/// the same part of the compared period) or household (busiest first, `limit` default 100).
/// By category, a household counts in each category it lists products in and an order in each
/// category it has lines in.
#[utoipa::path(get, path = "/api/v1/reports/uptake/breakdown", tag = "reports", params(ReportRequest), security(("bearer" = [])),
    responses(
        (status = 200, description = "One row per group", body = BreakdownReport),
        MalformedQuery, Unauthenticated, AdminsOnly, ReportInvalid,
    ))]
pub(crate) async fn uptake_breakdown(call: ReportCall) -> AppResult<HttpResponse> {
    let report = service::breakdown(&call.ctx, &call.caller, &call.query).await?;
    call.respond(
        &format!("uptake-by-{}", report.by),
        &report,
        csv_out::breakdown,
    )
}

/// Products by value, volume or views (top `limit`, 1..=500, default 20) with totals over every
/// product matching `q`, `category` and `province_code` (origin); counts the product's own order
/// lines, cancelled orders excepted.
#[utoipa::path(get, path = "/api/v1/reports/products", tag = "reports", params(ReportRequest), security(("bearer" = [])),
    responses(
        (status = 200, description = "Top rows and totals", body = ProductReport),
        MalformedQuery, Unauthenticated, AdminsOnly, ReportInvalid,
    ))]
pub(crate) async fn products_report(call: ReportCall) -> AppResult<HttpResponse> {
    let report = service::products(&call.ctx, &call.caller, &call.query).await?;
    call.respond("products", &report, csv_out::products)
}

/// One metric month by month (`metric`, default `transaction_value_vnd`), this period's bars
/// beside the compared period's, as SVG.
#[utoipa::path(get, path = "/api/v1/reports/uptake/chart.svg", tag = "reports", params(ReportRequest), security(("bearer" = [])),
    responses(
        (status = 200, description = "An SVG chart", content_type = "image/svg+xml", body = String),
        MalformedQuery, Unauthenticated, AdminsOnly, ReportInvalid,
    ))]
pub(crate) async fn uptake_chart(call: ReportCall) -> AppResult<HttpResponse> {
    let data = service::chart_data(&call.ctx, &call.caller, &call.query).await?;
    let svg = chart::render(&data)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("drawing the chart failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"))
        .body(svg))
}
