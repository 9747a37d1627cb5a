//! The 63 provinces and centrally-run cities (shipped in a migration) and `GET /provinces`.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Serialize;

use crate::context::Context;
use crate::db::DbConnection;
use crate::db::schema::provinces;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = provinces)]
pub struct Province {
    pub code: String,
    pub name: String,
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Province>> {
    provinces::table
        .order(provinces::code)
        .select(Province::as_select())
        .load(conn)
}

pub fn exists(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(provinces::table.find(code))).get_result(conn)
}

/// A province code as given, checked for shape before any lookup: two digits.
pub fn looks_like_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit())
}

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
