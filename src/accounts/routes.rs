//! `/admin/users/{id}`.

use actix_web::{HttpResponse, web};

use serde::Deserialize;

use super::service;
use crate::api::resource::answers::{AdminsOnly, NotFound, Unauthenticated};
use crate::api::{ApiJson, Problem, api_resource};
use crate::auth::CurrentUser;
use crate::auth::routes::UserView;
use crate::context::Context;
use crate::error::AppResult;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "suspended"}))]
pub struct UpdateUserRequest {
    pub status: String,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, get_user, update_user);
}

/// One account (admins only).
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The account", body = UserView),
        Unauthenticated,
        AdminsOnly,
        NotFound,
    ))]
pub(crate) async fn get_user(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let user = service::get_user(&ctx, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

/// Suspend or reinstate an account (admins only). Suspending revokes its tokens at once, refuses
/// its logins and suspends its active households; reinstating brings back those households.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "accounts", request_body = UpdateUserRequest,
    params(("id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The account with its new status", body = UserView),
        Unauthenticated,
        AdminsOnly,
        NotFound,
        (status = 422, description = "`validation_failed`: status not `active`/`suspended`, or an admin suspending themselves", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn update_user(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<UpdateUserRequest>,
) -> AppResult<HttpResponse> {
    let user = service::set_account_status(&ctx, &caller, &id, &body.0.status).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
