//! `GET /provinces`.

use actix_web::{HttpResponse, web};

use super::repo::{Province, all};
use crate::context::Context;
use crate::error::AppResult;

pub fn config(cfg: &mut web::ServiceConfig) {
    crate::api::api_resource!(cfg, list_provinces);
}

/// The 63 provinces and centrally-run cities with their two-digit codes.
#[utoipa::path(get, path = "/api/v1/provinces", tag = "households",
    responses((status = 200, description = "Sorted by code", body = Vec<Province>,
        example = json!([{"code": "01", "name": "Hà Nội"}, {"code": "24", "name": "Bắc Giang"}]))))]
pub(crate) async fn list_provinces(ctx: web::Data<Context>) -> AppResult<HttpResponse> {
    let provinces = ctx.db.run(|conn| Ok(all(conn)?)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=86400"))
        .json(provinces))
}
