//! `/auth/*` and `/me`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::extract::CurrentUser;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::model::{AccountStatus, Role, Session};
use super::repo::User;

use super::model::AccountInput;
use super::service::{self, Guards};
use crate::api::resource::answers::{PasswordsBusy, Unauthenticated};
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
        PasswordsBusy,
    ))]
pub(crate) async fn register(
    ctx: web::Data<Context>,
    guards: web::Data<Guards>,
    req: HttpRequest,
    body: ApiJson<RegisterRequest>,
) -> AppResult<HttpResponse> {
    let address = client_address(&req, &ctx.settings.auth.trusted_proxies);
    let user = service::register(&ctx, &guards, body.0.input(), address).await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
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
        PasswordsBusy,
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
    Ok(HttpResponse::Ok().json(LoginView::from(session)))
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
    Ok(HttpResponse::Ok().json(UserView::from(caller.user)))
}

/// `{id, email, full_name, role, phone, status, created_at}`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub phone: Option<String>,
    /// `active`, or `suspended` by an admin (a suspended account cannot sign in).
    pub status: AccountStatus,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            id: user.id.to_db(),
            email: user.email,
            full_name: user.full_name,
            role: user.role,
            phone: user.phone,
            status: user.status,
            created_at: user.created_at,
        }
    }
}

/// The answer to a successful login.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginView {
    pub token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    #[serde(with = "crate::time::rfc3339")]
    pub expires_at: NaiveDateTime,
    pub user: UserView,
}

impl From<Session> for LoginView {
    fn from(session: Session) -> Self {
        LoginView {
            token: session.token,
            token_type: "Bearer",
            expires_at: session.expires_at,
            user: session.user.into(),
        }
    }
}
