//! `/products` and `/products/{id}`.

use actix_web::{HttpResponse, web};

use super::service::{self, CreateProductRequest, ListProductsQuery, UpdateProductRequest};
use crate::api::{ApiJson, ApiQuery};
use crate::auth::{CurrentUser, MaybeUser};
use crate::error::AppResult;
use crate::startup::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/products")
            .route(web::get().to(list_products))
            .route(web::post().to(create_product)),
    )
    .service(
        web::resource("/products/{id}")
            .route(web::get().to(get_product))
            .route(web::patch().to(update_product))
            .route(web::delete().to(archive_product)),
    );
}

async fn create_product(
    state: web::Data<AppState>,
    caller: CurrentUser,
    body: ApiJson<CreateProductRequest>,
) -> AppResult<HttpResponse> {
    let product = service::create(&state, caller, body.0).await?;
    Ok(HttpResponse::Created().json(product))
}

async fn list_products(
    state: web::Data<AppState>,
    caller: MaybeUser,
    query: ApiQuery<ListProductsQuery>,
) -> AppResult<HttpResponse> {
    let page = service::list(&state, caller.0, query.0).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get_product(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let product = service::get(&state, caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(product))
}

async fn update_product(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<UpdateProductRequest>,
) -> AppResult<HttpResponse> {
    let product = service::update(&state, caller, &id, body.0).await?;
    Ok(HttpResponse::Ok().json(product))
}

async fn archive_product(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    service::archive(&state, caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
