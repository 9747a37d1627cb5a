//! `POST /payments/bank-notifications` (the bank, signed) and `GET /admin/payments/unmatched`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::model::{Credit, CreditInput, Outcome, signature_is_valid};
use super::repo::BankTransaction;
use super::service;
use crate::api::resource::answers::{AdminsOnly, Invalid, Unauthenticated};
use crate::api::{ApiQuery, Problem, api_resource, page_schema, parse_json};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};

page_schema!(BankTransactionPage, BankTransactionView);

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, bank_notification);
    api_resource!(cfg, unmatched_payments);
}

/// A bank-statement line and what it did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BankTransactionView {
    pub transaction_id: String,
    pub amount_vnd: i64,
    pub description: String,
    #[serde(with = "crate::time::rfc3339")]
    pub credited_at: NaiveDateTime,
    #[serde(with = "crate::time::rfc3339")]
    pub received_at: NaiveDateTime,
    /// The checkout its content named, if one has that code.
    pub checkout_id: Option<String>,
    /// `matched` (the checkout is paid), `short`, `over`, `unknown` or `late`.
    #[schema(value_type = String)]
    pub outcome: Outcome,
}

impl From<BankTransaction> for BankTransactionView {
    fn from(line: BankTransaction) -> Self {
        BankTransactionView {
            transaction_id: line.transaction_id,
            amount_vnd: line.amount_vnd,
            description: line.description,
            credited_at: line.credited_at,
            received_at: line.received_at,
            checkout_id: line.checkout_id.map(|id| id.to_db()),
            outcome: line.outcome,
        }
    }
}

/// The answer to a notification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationAnswer {
    #[serde(flatten)]
    pub transaction: BankTransactionView,
    /// True when this `transaction_id` had been received before (nothing changed).
    pub replayed: bool,
}

/// A bank-statement line from the bank, signed: `X-Signature` is the hex HMAC-SHA256 of the raw
/// body under `payments.notification_secret` (a bad or missing one: 401, nothing written). The
/// checkout is found by the code in `description`: an exact amount pays its orders; short, over,
/// unknown or late money is recorded for admins. A `transaction_id` seen before changes nothing.
#[utoipa::path(post, path = "/api/v1/payments/bank-notifications", tag = "checkouts", request_body = CreditInput,
    params(("X-Signature" = String, Header, description = "Hex HMAC-SHA256 of the body (optionally `sha256=`-prefixed)")),
    responses(
        (status = 200, description = "Recorded (or recorded before: `replayed`)", body = NotificationAnswer),
        (status = 401, description = "`unauthenticated`: missing or bad signature", body = Problem, content_type = "application/problem+json"),
        Invalid,
    ))]
pub(crate) async fn bank_notification(
    ctx: web::Data<Context>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let signature = req
        .headers()
        .get("x-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !signature_is_valid(&ctx.settings.payments.notification_secret, &body, signature) {
        return Err(AppError::unauthenticated(
            "missing or bad X-Signature: the HMAC-SHA256 of the body under the shared secret",
        ));
    }
    let input: CreditInput = parse_json(&body)?;
    let received = service::receive(&ctx, Credit::parse(&input)?).await?;
    Ok(HttpResponse::Ok().json(NotificationAnswer {
        transaction: received.line.into(),
        replayed: received.replayed,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnmatchedSearch {
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<i64>,
}

/// Money that paid no checkout as it stood (short, over, unknown code, late), newest first, for an
/// admin to refund or apply by hand.
#[utoipa::path(get, path = "/api/v1/admin/payments/unmatched", tag = "checkouts", params(UnmatchedSearch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = BankTransactionPage),
        Unauthenticated,
        AdminsOnly,
        Invalid,
    ))]
pub(crate) async fn unmatched_payments(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    query: ApiQuery<UnmatchedSearch>,
) -> AppResult<HttpResponse> {
    let page = service::unmatched(&ctx, &caller, query.0.page, query.0.per_page).await?;
    Ok(HttpResponse::Ok().json(page.map(BankTransactionView::from)))
}
