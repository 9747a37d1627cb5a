//! `GET /provinces` (either map) and `GET /provinces/{code}/communes`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::admin_map::{AdminMap, Commune, FormerProvince, ProvinceMap, query_map};
use crate::api::resource::answers::{Invalid, NotFound};
use crate::api::{ApiQuery, api_resource};
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::search::optional_query_words;
use crate::validate::Problems;

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, list_provinces);
    api_resource!(cfg, list_communes);
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProvincesQuery {
    /// `current` (default: the 34 since 2025-07-01) or `2008` (the 63 before).
    pub map: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommunesQuery {
    /// Words that must all occur in the commune's name, whatever the case and diacritics.
    pub q: Option<String>,
}

/// A 2008 province as a current one lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FormerProvinceRef {
    pub code: String,
    pub name: String,
}

/// A province of the current map.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentProvinceView {
    pub code: String,
    pub name: String,
    /// `tinh` (province) or `thanh-pho` (centrally-run city).
    pub kind: String,
    /// The resolution that formed it, as the source names it (empty where it has none).
    pub formed_by: String,
    /// The 2008 provinces it absorbed.
    pub former: Vec<FormerProvinceRef>,
}

/// The provinces of the map asked for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ProvinceList {
    Current(Vec<CurrentProvinceView>),
    Former(Vec<FormerProvince>),
}

fn current_provinces(map: &AdminMap) -> Vec<CurrentProvinceView> {
    map.current_provinces()
        .map(|p| CurrentProvinceView {
            code: p.code.clone(),
            name: p.name.clone(),
            kind: p.kind.clone(),
            formed_by: p.formed_by.clone(),
            former: map
                .absorbed_by(&p.code)
                .map(|f| FormerProvinceRef {
                    code: f.code.clone(),
                    name: f.name.clone(),
                })
                .collect(),
        })
        .collect()
}

/// The provinces and centrally-run cities of one map, sorted by code: the current 34 (each with
/// the 2008 provinces it absorbed) or, with `map=2008`, the former 63 (each with the current
/// province it lies in).
#[utoipa::path(get, path = "/api/v1/provinces", tag = "households", params(ProvincesQuery),
    responses(
        (status = 200, description = "`map=current`: CurrentProvinceView items; `map=2008`: FormerProvinceView items", body = ProvinceList,
            example = json!([{"code": "24", "name": "Bắc Ninh", "kind": "thanh-pho", "formed_by": "39/2026/QH16 - 24/08/2026",
                "former": [{"code": "24", "name": "Bắc Giang"}, {"code": "27", "name": "Bắc Ninh"}]}])),
        Invalid,
    ))]
pub(crate) async fn list_provinces(
    ctx: web::Data<Context>,
    query: ApiQuery<ProvincesQuery>,
) -> AppResult<HttpResponse> {
    let mut problems = Problems::new();
    let map = query_map(&mut problems, query.0.map.as_deref());
    problems.finish()?;
    let provinces = match map {
        ProvinceMap::Current => ProvinceList::Current(current_provinces(&ctx.map)),
        ProvinceMap::Former => ProvinceList::Former(ctx.map.former_provinces().cloned().collect()),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=86400"))
        .json(provinces))
}

/// The communes, wards and special zones of a current province, sorted by code; `q` narrows them
/// by name.
#[utoipa::path(get, path = "/api/v1/provinces/{code}/communes", tag = "households",
    params(("code" = String, Path, description = "A current province code"), CommunesQuery),
    responses(
        (status = 200, description = "The communes", body = Vec<Commune>),
        NotFound,
        Invalid,
    ))]
pub(crate) async fn list_communes(
    ctx: web::Data<Context>,
    code: web::Path<String>,
    query: ApiQuery<CommunesQuery>,
) -> AppResult<HttpResponse> {
    let words = optional_query_words(query.0.q.as_deref())
        .map_err(|problem| AppError::validation(vec![problem]))?;
    let communes = ctx
        .map
        .communes_of(&code, &words)
        .ok_or_else(|| AppError::not_found("province on the current map"))?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=86400"))
        .json(communes))
}
