//! The `Idempotency-Key` request header, and the answer that replays what a key already did.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::AppError;

/// The `Idempotency-Key` header, if sent. Its length rule is the service's (it is part of what
/// the key means there); this only refuses a value that is not text.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.headers().get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(value) => value
                .to_str()
                .map(|key| IdempotencyKey(Some(key.to_owned())))
                .map_err(|_| {
                    AppError::invalid_field("Idempotency-Key", "must be visible ASCII characters")
                }),
        })
    }
}

/// 200 with `Idempotent-Replayed: true`: what the key already created, answered again.
pub fn replayed(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Idempotent-Replayed", "true"))
        .json(body)
}
