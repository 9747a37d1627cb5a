//! `/households` and `/households/{id}`.

use actix_web::{HttpResponse, web};

use super::service::{self, CreateHouseholdRequest, ListHouseholdsQuery, UpdateHouseholdRequest};
use crate::api::{ApiJson, ApiQuery};
use crate::auth::{CurrentUser, MaybeUser};
use crate::error::AppResult;
use crate::startup::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/households")
            .route(web::get().to(list_households))
            .route(web::post().to(create_household)),
    )
    .service(
        web::resource("/households/{id}")
            .route(web::get().to(get_household))
            .route(web::patch().to(update_household)),
    );
}

async fn create_household(
    state: web::Data<AppState>,
    caller: CurrentUser,
    body: ApiJson<CreateHouseholdRequest>,
) -> AppResult<HttpResponse> {
    let household = service::create(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(household))
}

async fn list_households(
    state: web::Data<AppState>,
    caller: MaybeUser,
    query: ApiQuery<ListHouseholdsQuery>,
) -> AppResult<HttpResponse> {
    let page = service::list(&state, caller.0.as_ref(), query.0).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get_household(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let household = service::get(&state, caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(household))
}

async fn update_household(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<UpdateHouseholdRequest>,
) -> AppResult<HttpResponse> {
    let household = service::update(&state, caller, &id, body.0).await?;
    Ok(HttpResponse::Ok().json(household))
}
