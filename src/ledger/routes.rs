//! `/households/{id}/ledger` and `/admin/payouts`.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::model::EntryKind;
use super::repo::Entry;
use super::service::{self, PayoutBatch};
use crate::api::idempotency;
use crate::api::resource::answers::{AdminsOnly, Forbidden, Invalid, NotFound, Unauthenticated};
use crate::api::spreadsheet::spreadsheet_safe;
use crate::api::{ApiQuery, IdempotencyKey, OptionalJson, api_resource};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, household_ledger);
    api_resource!(cfg, create_payout);
    api_resource!(cfg, get_payout);
    api_resource!(cfg, payout_bank_file);
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerSearch {
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<i64>,
}

/// One entry on a household's account.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerEntryView {
    pub id: String,
    /// `share_payable` (a delivered order's goods less the commission) or `payout`.
    #[schema(value_type = String)]
    pub kind: EntryKind,
    #[serde(with = "crate::time::rfc3339")]
    pub booked_at: NaiveDateTime,
    /// Positive: owed to the household; negative: paid out to it.
    pub amount_vnd: i64,
    pub order_id: Option<String>,
    pub checkout_id: Option<String>,
    pub payout_id: Option<String>,
}

impl LedgerEntryView {
    fn of((entry, amount): (Entry, i64)) -> Self {
        LedgerEntryView {
            id: entry.id.to_db(),
            kind: entry.kind,
            booked_at: entry.booked_at,
            amount_vnd: amount,
            order_id: entry.order_id.map(|id| id.to_db()),
            checkout_id: entry.checkout_id.map(|id| id.to_db()),
            payout_id: entry.payout_id.map(|id| id.to_db()),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayoutAccountView {
    pub bank_bin: String,
    pub account_number: String,
}

/// A household's ledger: what it is owed and one page of its entries, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdLedgerView {
    pub household_id: String,
    /// What the platform owes the household now.
    pub balance_vnd: i64,
    /// Where its payouts go (none: payouts skip it until it sets one with `PATCH /households/{id}`).
    pub payout_account: Option<PayoutAccountView>,
    pub items: Vec<LedgerEntryView>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// A household's ledger (its owner and admins): each delivered, paid order adds its goods less
/// the commission; each payout takes its balance.
#[utoipa::path(get, path = "/api/v1/households/{id}/ledger", tag = "checkouts", params(("id" = String, Path, description = "Household id"), LedgerSearch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The balance and one page of entries", body = HouseholdLedgerView),
        Unauthenticated,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub(crate) async fn household_ledger(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    query: ApiQuery<LedgerSearch>,
) -> AppResult<HttpResponse> {
    let ledger =
        service::household_ledger(&ctx, caller, &id, query.0.page, query.0.per_page).await?;
    let household = ledger.household;
    let entries = ledger.entries;
    Ok(HttpResponse::Ok().json(HouseholdLedgerView {
        household_id: household.id.to_db(),
        balance_vnd: ledger.balance_vnd,
        payout_account: household.payout_bank_bin.zip(household.payout_account).map(
            |(bank_bin, account_number)| PayoutAccountView {
                bank_bin,
                account_number,
            },
        ),
        items: entries.items.into_iter().map(LedgerEntryView::of).collect(),
        page: entries.page,
        per_page: entries.per_page,
        total: entries.total,
    }))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayoutLineView {
    pub household_id: String,
    pub household_name: String,
    pub bank_bin: Option<String>,
    pub account_number: Option<String>,
    pub amount_vnd: i64,
    /// The bank transfer's content.
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwedView {
    pub household_id: String,
    pub household_name: String,
    pub balance_vnd: i64,
}

/// A payout batch: one bank transfer per household.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    pub id: String,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
    pub total_vnd: i64,
    pub lines: Vec<PayoutLineView>,
    /// Households owed money now that no batch can pay: they have no bank account on record.
    pub without_account: Vec<OwedView>,
    /// Path of the batch as a CSV file for the bank.
    pub bank_file: String,
}

impl From<PayoutBatch> for PayoutView {
    fn from(batch: PayoutBatch) -> Self {
        PayoutView {
            id: batch.payout.id.to_db(),
            created_at: batch.payout.created_at,
            total_vnd: batch.payout.total_vnd,
            lines: batch
                .lines
                .into_iter()
                .map(|(line, household_name)| PayoutLineView {
                    household_id: line.household_id.to_db(),
                    household_name,
                    bank_bin: line.bank_bin,
                    account_number: line.account,
                    amount_vnd: line.amount_vnd,
                    reference: line.reference,
                })
                .collect(),
            without_account: batch
                .without_account
                .into_iter()
                .map(|(id, household_name, balance_vnd)| OwedView {
                    household_id: id.to_db(),
                    household_name,
                    balance_vnd,
                })
                .collect(),
            bank_file: format!("/api/v1/admin/payouts/{}/bank-file.csv", batch.payout.id),
        }
    }
}

/// Pay every household the platform owes (admins): one line per household with a bank account,
/// debiting its balance. `Idempotency-Key` is required: the same key again answers the same
/// batch (200, `Idempotent-Replayed: true`) and pays nothing more.
#[utoipa::path(post, path = "/api/v1/admin/payouts", tag = "checkouts",
    params(("Idempotency-Key" = String, Header, description = "1..=255 characters")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The batch", body = PayoutView),
        (status = 200, description = "The batch this key already made", body = PayoutView,
            headers(("Idempotent-Replayed" = String, description = "`true`"))),
        Unauthenticated,
        AdminsOnly,
        Invalid,
    ))]
pub(crate) async fn create_payout(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    IdempotencyKey(key): IdempotencyKey,
    _body: OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<HttpResponse> {
    let (batch, replayed) = service::pay_out(&ctx, caller, key).await?;
    let view = PayoutView::from(batch);
    Ok(if replayed {
        idempotency::replayed(view)
    } else {
        HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/admin/payouts/{}", view.id)))
            .json(view)
    })
}

/// One payout batch (admins).
#[utoipa::path(get, path = "/api/v1/admin/payouts/{id}", tag = "checkouts",
    params(("id" = String, Path, description = "Payout id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The batch", body = PayoutView),
        Unauthenticated,
        AdminsOnly,
        NotFound,
    ))]
pub(crate) async fn get_payout(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let batch = service::payout(&ctx, caller, &id).await?;
    Ok(HttpResponse::Ok().json(PayoutView::from(batch)))
}

/// A payout batch as a CSV file for the bank (admins): `household_id, household_name, bank_bin,
/// account_number, amount_vnd, reference`, one row per transfer.
#[utoipa::path(get, path = "/api/v1/admin/payouts/{id}/bank-file.csv", tag = "checkouts",
    params(("id" = String, Path, description = "Payout id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The bank file", content_type = "text/csv", body = String),
        Unauthenticated,
        AdminsOnly,
        NotFound,
    ))]
pub(crate) async fn payout_bank_file(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let batch = service::payout(&ctx, caller, &id).await?;
    let mut file = csv::Writer::from_writer(Vec::new());
    let header = [
        "household_id",
        "household_name",
        "bank_bin",
        "account_number",
        "amount_vnd",
        "reference",
    ];
    let write = |file: &mut csv::Writer<Vec<u8>>, row: &[String]| {
        file.write_record(row)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("writing the bank file: {e}")))
    };
    write(&mut file, &header.map(str::to_owned))?;
    for (line, name) in batch.lines {
        write(
            &mut file,
            &[
                line.household_id.to_db(),
                spreadsheet_safe(&name).into_owned(),
                line.bank_bin.unwrap_or_default(),
                line.account.unwrap_or_default(),
                line.amount_vnd.to_string(),
                spreadsheet_safe(&line.reference).into_owned(),
            ],
        )?;
    }
    let body = file
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing the bank file: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"payout-{}.csv\"", batch.payout.id),
        ))
        .body(body))
}
