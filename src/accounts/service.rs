//! Suspending and reinstating accounts, in one transaction with their tokens and households.

use crate::auth::model::AccountStatus;
use crate::auth::repo::User;
use crate::auth::{CurrentUser, repo};
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::ids::{UserId, from_path};

fn admins_only(caller: &CurrentUser) -> AppResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("only admins manage accounts"))
    }
}

pub async fn get_user(ctx: &Context, caller: &CurrentUser, id: &str) -> AppResult<User> {
    admins_only(caller)?;
    let id = from_path(id, UserId::parse, "user")?;
    ctx.db
        .run(move |conn| repo::find_user(conn, &id)?.ok_or_else(|| AppError::not_found("user")))
        .await
}

/// Suspends or reinstates an account. Suspending revokes every token of it and suspends its
/// active households (remembered, so reinstating brings back exactly those); all in one transaction.
pub async fn set_account_status(
    ctx: &Context,
    caller: &CurrentUser,
    id: &str,
    status: &str,
) -> AppResult<User> {
    admins_only(caller)?;
    let id = from_path(id, UserId::parse, "user")?;
    let status = AccountStatus::parse_field("status", status)
        .map_err(|problem| AppError::validation(vec![problem]))?;
    if id == caller.id && status == AccountStatus::Suspended {
        return Err(AppError::invalid_field(
            "status",
            "admins cannot suspend their own account",
        ));
    }
    let timezone = ctx.timezone;
    let user = ctx
        .db
        .write(move |conn| {
            let mut user =
                repo::find_user(conn, &id)?.ok_or_else(|| AppError::not_found("user"))?;
            if user.status == status {
                return Ok(user);
            }
            repo::set_user_status(conn, &id, status)?;
            if status == AccountStatus::Suspended {
                repo::delete_user_tokens(conn, &id)?;
                crate::households::service::suspend_with_owner(conn, &id, timezone)?;
            } else {
                crate::households::service::reinstate_with_owner(conn, &id, timezone)?;
            }
            user.status = status;
            Ok(user)
        })
        .await?;
    // Its households' products leave (or rejoin) the listing: searches after this answer show it.
    ctx.catalogue_caught_up().await;
    Ok(user)
}
