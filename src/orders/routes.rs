//! `/orders` and the status moves.

use actix_web::{HttpRequest, HttpResponse, web};

use super::service::{
    self, CancelRequest, ListOrdersQuery, Move, PlaceOrderRequest, Placed, ShipRequest,
};
use crate::api::{ApiJson, ApiQuery, OptionalJson};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::startup::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orders")
            .route(web::get().to(list_orders))
            .route(web::post().to(place_order)),
    )
    .service(web::resource("/orders/{id}").route(web::get().to(get_order)))
    .service(web::resource("/orders/{id}/confirm").route(web::post().to(confirm_order)))
    .service(web::resource("/orders/{id}/ship").route(web::post().to(ship_order)))
    .service(web::resource("/orders/{id}/deliver").route(web::post().to(deliver_order)))
    .service(web::resource("/orders/{id}/cancel").route(web::post().to(cancel_order)));
}

fn idempotency_key(req: &HttpRequest) -> AppResult<Option<String>> {
    match req.headers().get("idempotency-key") {
        None => Ok(None),
        Some(value) => value.to_str().map(|v| Some(v.to_owned())).map_err(|_| {
            AppError::invalid_field("Idempotency-Key", "must be visible ASCII characters")
        }),
    }
}

async fn place_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: CurrentUser,
    body: ApiJson<PlaceOrderRequest>,
) -> AppResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    let placed = service::place(&state, caller, key, body.0).await?;
    let mut response = HttpResponse::build(service::placed_status(&placed));
    match placed {
        Placed::Created(order) => Ok(response.json(order)),
        Placed::Replayed(order) => Ok(response
            .insert_header(("Idempotent-Replayed", "true"))
            .json(order)),
    }
}

async fn list_orders(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: ApiQuery<ListOrdersQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::list(&state, caller, query.0).await?))
}

async fn get_order(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::get(&state, caller, &id).await?))
}

async fn confirm_order(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
    _body: OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::make_move(&state, caller, &id, Move::Confirm).await?))
}

async fn ship_order(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: OptionalJson<ShipRequest>,
) -> AppResult<HttpResponse> {
    let tracking_code = body.0.unwrap_or_default().tracking_code;
    Ok(HttpResponse::Ok()
        .json(service::make_move(&state, caller, &id, Move::Ship { tracking_code }).await?))
}

async fn deliver_order(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
    _body: OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::make_move(&state, caller, &id, Move::Deliver).await?))
}

async fn cancel_order(
    state: web::Data<AppState>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: OptionalJson<CancelRequest>,
) -> AppResult<HttpResponse> {
    let reason = body.0.unwrap_or_default().reason;
    Ok(HttpResponse::Ok()
        .json(service::make_move(&state, caller, &id, Move::Cancel { reason }).await?))
}
