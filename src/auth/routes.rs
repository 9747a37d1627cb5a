//! `/auth/*` and `/me`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::extract::CurrentUser;
use super::model::{LoginView, UserView};
use serde::Deserialize;

use super::model::AccountInput;
use super::service::{self, Guards};
use crate::api::resource::answers::Unauthenticated;
use crate::api::{ApiJson, OptionalJson};
use crate::api::{Problem, api_resource};
use crate::client_address::client_address;
use crate::context::Context;
use crate::error::AppResult;

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, register);
    api_resource!(cfg, login);
    api_resource!(cfg, logout);
    api_resource!(cfg, me);
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "lan@example.vn", "password": "mật-khẩu-8", "full_name": "Nguyễn Thị Lan", "role": "farmer", "phone": "0912 345 678"}))]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    pub full_name: String,
    /// `farmer` or `buyer` (admins are made with `nongsan admin create`).
    pub role: String,
    pub phone: Option<String>,
}

impl RegisterRequest {
    fn input(&self) -> AccountInput<'_> {
        AccountInput {
            email: &self.email,
            password: &self.password,
            full_name: &self.full_name,
            role: &self.role,
            phone: self.phone.as_deref(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Register a farmer or buyer account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses(
        (status = 201, description = "The new account", body = UserView),
        (status = 409, description = "`email_taken` (emails are unique whatever their case)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: role admin or unknown, password not 8..=128 characters, …", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many registrations from this address (`auth.registrations_per_address`); see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`busy`: too many passwords being hashed; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(crate) async fn register(
    ctx: web::Data<Context>,
    guards: web::Data<Guards>,
    req: HttpRequest,
    body: ApiJson<RegisterRequest>,
) -> AppResult<HttpResponse> {
    let address = client_address(&req, &ctx.settings.auth.trusted_proxies);
    let user = service::register(&ctx, &guards, body.0.input(), address).await?;
    Ok(HttpResponse::Created().json(user))
}

/// Exchange email and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses(
        (status = 200, description = "A token valid for `auth.token_ttl` (30 days by default)", body = LoginView),
        (status = 401, description = "`invalid_credentials`: the same answer for a wrong password and an unknown email", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`account_suspended`: the password is right but an admin suspended the account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: an email over 254 characters", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many failures for this email or address; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`busy`: too many passwords being checked; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(crate) async fn login(
    ctx: web::Data<Context>,
    guards: web::Data<Guards>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> AppResult<HttpResponse> {
    let address = client_address(&req, &ctx.settings.auth.trusted_proxies);
    let LoginRequest { email, password } = body.0;
    let session = service::login(&ctx, &guards, &email, password, address).await?;
    Ok(HttpResponse::Ok().json(session))
}

/// End this token at once (other tokens of the account stay valid). The body may be empty.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 204, description = "The token no longer works"),
        Unauthenticated,
    ))]
pub(crate) async fn logout(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    _body: OptionalJson<serde_json::Value>,
) -> AppResult<HttpResponse> {
    service::logout(&ctx, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, description = "`unauthenticated`: no token, or an unknown, expired or revoked one", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn me(caller: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(caller.user))
}
