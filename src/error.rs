//! One error type for the whole service, rendered as RFC 9457 `application/problem+json`
//! with the stable `code`s of `docs/API.md`.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::log_throttle::LogThrottle;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem with one input field, e.g. `{"field": "items[0].quantity", "message": "only 3 left"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A problem with one line of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ProblemItem {
    Field(FieldError),
    Line(LineError),
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A problem the client can act on: every 4xx.
    #[error("{status} {code}: {detail}")]
    Client {
        status: StatusCode,
        code: &'static str,
        detail: String,
        errors: Vec<ProblemItem>,
    },
    #[error("too many requests; retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// Too much work of one kind queued (password hashing): 503 `busy`, retry later.
    #[error("busy; retry after {retry_after_secs}s")]
    Busy { retry_after_secs: u64 },
    /// The database does not answer (or is too busy); the cause is logged, not shown.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database, or the disk under it, has no room for the write: nothing of it was
    /// written, and it may be tried again once an operator has made room.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// Our fault; the cause chain is logged, the client sees a bare 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn client(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Client {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn with_field_errors(self, field_errors: Vec<FieldError>) -> Self {
        self.with_errors(field_errors.into_iter().map(ProblemItem::Field).collect())
    }

    /// The problems of an uploaded file, line by line.
    pub fn with_line_errors(self, line_errors: Vec<LineError>) -> Self {
        self.with_errors(line_errors.into_iter().map(ProblemItem::Line).collect())
    }

    fn with_errors(self, errors: Vec<ProblemItem>) -> Self {
        match self {
            AppError::Client {
                status,
                code,
                detail,
                ..
            } => AppError::Client {
                status,
                code,
                detail,
                errors,
            },
            other => other,
        }
    }

    /// 422 `validation_failed` listing every field problem.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        Self::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        )
        .with_field_errors(errors)
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 403 with a code of its own (`account_suspended`, `owner_suspended`).
    pub fn refused(code: &'static str, detail: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, code, detail)
    }

    /// 401 with a code of its own (`invalid_credentials`).
    pub fn not_authenticated(code: &'static str, detail: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::client(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, detail)
    }

    /// A request body over its limit: 413 `payload_too_large`.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
    }

    /// A write that would repeat a unique key (an email, an idempotency key): 409
    /// `already_exists` unless the caller, who knows what the key means, says more.
    pub fn already_exists() -> Self {
        Self::conflict("already_exists", "this already exists")
    }

    /// Whether this is what [`already_exists`](Self::already_exists) answers.
    pub fn is_already_exists(&self) -> bool {
        matches!(
            self,
            AppError::Client {
                code: "already_exists",
                ..
            }
        )
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::client(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// A total (of money, weight or counts) that would pass what 64 bits hold.
    pub fn value_out_of_range() -> Self {
        Self::unprocessable(
            "value_out_of_range",
            "a total would be larger than the service can count; nothing was changed",
        )
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Client { code, .. } => code,
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Busy { .. } => "busy",
            AppError::Unavailable(_) => "unavailable",
            AppError::StorageFull(_) => "storage_full",
            AppError::Internal(_) => "internal",
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    errors: &'a [ProblemItem],
}

/// Renders a problem document; `detail` must never carry internals.
pub fn problem_response(
    status: StatusCode,
    code: &str,
    detail: &str,
    errors: &[ProblemItem],
) -> HttpResponse {
    let body = ProblemBody {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        code,
        detail,
        errors,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        // Also on errors that bypass the middleware (see `startup::security_headers`).
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(serde_json::to_string(&body).unwrap_or_default())
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Client { status, .. } => *status,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unavailable(_) | AppError::StorageFull(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Client {
                status,
                code,
                detail,
                errors,
            } => problem_response(*status, code, detail, errors),
            AppError::RateLimited { retry_after_secs } => {
                let mut response = problem_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    &format!("too many attempts; try again in {retry_after_secs} seconds"),
                    &[],
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                response
            }
            AppError::Busy { retry_after_secs } => {
                let mut response = problem_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    &format!("the server is busy; try again in {retry_after_secs} seconds"),
                    &[],
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                response
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "database unavailable");
                let mut response = problem_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the service is temporarily unavailable; try again shortly",
                    &[],
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1u32));
                response
            }
            AppError::StorageFull(cause) => {
                // Every write meets it until an operator makes room: logged now and then.
                static FULL: LogThrottle = LogThrottle::new(Duration::from_secs(10));
                if let Some(held_back) = FULL.due() {
                    tracing::error!(cause = %cause, held_back, "storage full: writes are refused");
                }
                let mut response = problem_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_full",
                    "the server has no room to store this right now; nothing was changed, try again later",
                    &[],
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(STORAGE_FULL_RETRY_AFTER_SECS),
                );
                response
            }
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                problem_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an unexpected error occurred",
                    &[],
                )
            }
        }
    }
}

/// The one place database errors become answers.
impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => AppError::not_found("resource"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AppError::already_exists()
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => AppError::Unavailable(info.message().to_owned()),
            // No room left (SQLite's SQLITE_FULL, PostgreSQL's disk_full): nothing was written.
            Error::DatabaseError(_, ref info) if is_storage_full(info.message()) => {
                AppError::StorageFull(info.message().to_owned())
            }
            // The database went away mid-request, or SQLite's writer lock was held past
            // busy_timeout: retryable, not a bug.
            Error::DatabaseError(_, ref info) if is_outage(info.message()) => {
                AppError::Unavailable(info.message().to_owned())
            }
            // Two transactions that each wait for the other (PostgreSQL ends one): nothing of
            // the one ended was kept, and trying again succeeds.
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                AppError::Unavailable(info.message().to_owned())
            }
            Error::DatabaseError(_, ref info) if info.message().contains("deadlock detected") => {
                AppError::Unavailable(info.message().to_owned())
            }
            // A sum past 64 bits (SQLite's SUM and guarded counters, PostgreSQL's bigint):
            // refused, never wrapped.
            Error::DatabaseError(_, ref info) if is_overflow(info.message()) => {
                AppError::value_out_of_range()
            }
            Error::BrokenTransactionManager => {
                AppError::Unavailable("broken transaction manager".into())
            }
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

/// What SQLite says when its `SUM` passes 64 bits; the same message for the guards on the
/// rollup counters (see the migration) and for sums made in Rust, so that one mapping (422
/// `value_out_of_range`) covers them all.
pub const COUNTER_OVERFLOW: &str = "integer overflow";

/// What a write of a request that its timeout gave up answers (nobody reads it).
pub const ABANDONED_WRITE: &str = "the request timed out before its write started";

/// Messages of errors that mean a sum no longer fits in 64 bits.
fn is_overflow(message: &str) -> bool {
    message.contains(COUNTER_OVERFLOW)
        || (message.contains("out of range") && message.contains("bigint"))
}

/// How long a client is asked to wait after `storage_full`: making room takes an operator.
pub const STORAGE_FULL_RETRY_AFTER_SECS: u32 = 30;

/// Messages of errors that mean the database has no room for a write: SQLite's SQLITE_FULL,
/// PostgreSQL's `could not extend file …: No space left on device` (and its other ENOSPC writes).
fn is_storage_full(message: &str) -> bool {
    message.contains("database or disk is full") || message.contains("No space left on device")
}

/// Messages of errors that mean "the database is not there right now" rather than a bug.
fn is_outage(message: &str) -> bool {
    const OUTAGE: [&str; 11] = [
        ABANDONED_WRITE,
        "database is locked",
        "database is busy",
        "terminating connection",
        "server closed the connection",
        "connection to server",
        "no connection to the server",
        "could not connect",
        "the database system is",
        "does not allow connections",
        "canceling statement due to",
    ];
    OUTAGE.iter().any(|needle| message.contains(needle))
}

impl From<r2d2::Error> for AppError {
    fn from(error: r2d2::Error) -> Self {
        AppError::Unavailable(format!("no database connection: {error}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {error}"))
    }
}

/// The stable `code` for a bare status, for responses that actix produced itself.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "malformed_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "rate_limited",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "bad_request",
    }
}

fn detail_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "no such resource",
        405 => "this method is not allowed on this resource",
        408 => "the request took too long to arrive",
        413 => "the request body is too large",
        415 => "unsupported content type; send application/json",
        503 => "the service is temporarily unavailable; try again shortly",
        s if s >= 500 => "an unexpected error occurred",
        _ => "the request could not be processed",
    }
}

/// `ErrorHandlers` hook: any 4xx/5xx that is not problem+json yet (actix's own 404, 405, 413,
/// payload errors, timeouts) is rewritten into one, so no default text leaks out.
pub fn render_plain_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let allow = res.headers().get(header::ALLOW).cloned();
    let (req, _old) = res.into_parts();
    let mut response = problem_response(
        status,
        code_for_status(status),
        detail_for_status(status),
        &[],
    );
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    let res = ServiceResponse::new(req, response).map_into_right_body::<B>();
    Ok(ErrorHandlerResponse::Response(res))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn from_database(message: &str) -> AppError {
        AppError::from(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(message.to_owned()),
        ))
    }

    /// What SQLite and PostgreSQL say when their disk is full is a 503 to retry, not a 500.
    #[test]
    fn a_full_disk_is_storage_full() {
        for message in [
            "database or disk is full",
            "could not extend file \"base/16384/16385\": No space left on device",
            "could not write to file \"pg_wal/xlogtemp.123\": No space left on device",
        ] {
            let error = from_database(message);
            assert_eq!(error.code(), "storage_full", "{message}");
            let response = error.error_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).unwrap(),
                &STORAGE_FULL_RETRY_AFTER_SECS.to_string()
            );
        }
        assert_eq!(from_database("no such table: x").code(), "internal");
    }
}
