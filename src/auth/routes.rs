//! `/auth/*` and `/me`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::extract::{CurrentUser, client_address};
use super::service::{self, LoginRequest, RegisterRequest};
use crate::api::{ApiJson, OptionalJson};
use crate::error::AppResult;
use crate::startup::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(register)))
        .service(web::resource("/auth/login").route(web::post().to(login)))
        .service(web::resource("/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/me").route(web::get().to(me)));
}

async fn register(
    state: web::Data<AppState>,
    body: ApiJson<RegisterRequest>,
) -> AppResult<HttpResponse> {
    let user = service::register(&state, body.0).await?;
    Ok(HttpResponse::Created().json(user))
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> AppResult<HttpResponse> {
    let address = client_address(&req, state.settings.auth.trust_forwarded_for);
    let session = service::login(&state, body.0, address).await?;
    Ok(HttpResponse::Ok().json(session))
}

async fn logout(
    state: web::Data<AppState>,
    caller: CurrentUser,
    _body: OptionalJson<serde_json::Value>,
) -> AppResult<HttpResponse> {
    service::logout(&state, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn me(caller: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(caller.user))
}
