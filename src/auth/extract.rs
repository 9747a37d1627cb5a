//! Extractors: `CurrentUser` requires a valid bearer token; `MaybeUser` allows none.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

pub use super::service::CurrentUser;
use super::service::authenticate;
use crate::context::Context;
use crate::error::AppError;

/// The caller if a token was sent; a token that is sent but not valid is still 401.
pub struct MaybeUser(pub Option<CurrentUser>);

/// `Some(token)` for `Authorization: Bearer <token>`, `None` without the header,
/// `Err` for any other Authorization value.
fn bearer_token(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::unauthenticated("the Authorization header is not valid"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(AppError::unauthenticated(
            "send Authorization: Bearer <token>",
        )),
    }
}

fn context(req: &HttpRequest) -> Result<web::Data<Context>, AppError> {
    req.app_data::<web::Data<Context>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the Context is not registered")))
}

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let ctx = context(req);
        Box::pin(async move {
            match token? {
                None => Ok(MaybeUser(None)),
                Some(token) => authenticate(&*ctx?, &token)
                    .await
                    .map(|user| MaybeUser(Some(user))),
            }
        })
    }
}

/// The caller whom the route needs signed in: `MaybeUser`, required.
impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = MaybeUser::from_request(req, payload);
        Box::pin(async move {
            caller.await?.0.ok_or_else(|| {
                AppError::unauthenticated("sign in first: send Authorization: Bearer <token>")
            })
        })
    }
}
