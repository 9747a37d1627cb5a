//! `/households` and `/households/{id}`.

use actix_web::{HttpResponse, web};

use serde::Deserialize;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::model::{
    HouseholdEdit, HouseholdInput, HouseholdSearch, HouseholdStatus, PayoutAccountInput,
};
use super::repo::Household;
use super::service;
use crate::api::resource::answers::{Invalid, MalformedQuery, NotFound, Unauthenticated};
use crate::api::{ApiJson, ApiQuery, page_schema};
use crate::api::{Problem, api_resource};
use crate::auth::{CurrentUser, MaybeUser};
use crate::context::Context;
use crate::error::AppResult;
use crate::provinces::PlaceInput;

page_schema!(HouseholdPage, HouseholdView);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Hộ ông Nguyễn Văn Hùng", "commune_code": "07486", "address": "Thôn Kép"}))]
pub struct CreateHouseholdRequest {
    pub name: String,
    /// The commune, ward or special zone (current map): sets both provinces.
    pub commune_code: Option<String>,
    /// Without a commune: the province, on the 2008 map unless `province_map` says `current`.
    pub province_code: Option<String>,
    /// `2008` (default) or `current`.
    pub province_map: Option<String>,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
}

impl CreateHouseholdRequest {
    fn input(&self) -> HouseholdInput<'_> {
        HouseholdInput {
            name: &self.name,
            place: PlaceInput {
                commune_code: self.commune_code.as_deref(),
                province_code: self.province_code.as_deref(),
                province_map: self.province_map.as_deref(),
            },
            district: self.district.as_deref(),
            address: self.address.as_deref(),
            phone: self.phone.as_deref(),
            description: self.description.as_deref(),
        }
    }
}

/// Any of the create fields (null clears an optional one); `status` (`active`/`suspended`) is for admins.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHouseholdRequest {
    pub name: Option<String>,
    pub commune_code: Option<String>,
    pub province_code: Option<String>,
    pub province_map: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub district: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub description: Option<Option<String>>,
    pub status: Option<String>,
    /// Owner or admin: the bank account the household's payouts go to (null clears it). Shown
    /// only in the household's ledger.
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub payout_account: Option<Option<PayoutAccountRequest>>,
    /// A parcel of this household with goods worth at least this ships free (null: never).
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub free_shipping_from_vnd: Option<Option<i64>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutAccountRequest {
    /// The bank's six-digit NAPAS BIN (e.g. `970436`).
    pub bank_bin: String,
    pub account_number: String,
}

impl UpdateHouseholdRequest {
    fn edit(&self) -> HouseholdEdit<'_> {
        HouseholdEdit {
            name: self.name.as_deref(),
            place: PlaceInput {
                commune_code: self.commune_code.as_deref(),
                province_code: self.province_code.as_deref(),
                province_map: self.province_map.as_deref(),
            },
            district: self.district.as_ref().map(Option::as_deref),
            address: self.address.as_ref().map(Option::as_deref),
            phone: self.phone.as_ref().map(Option::as_deref),
            description: self.description.as_ref().map(Option::as_deref),
            status: self.status.as_deref(),
            payout_account: self.payout_account.as_ref().map(|account| {
                account.as_ref().map(|a| PayoutAccountInput {
                    bank_bin: &a.bank_bin,
                    account_number: &a.account_number,
                })
            }),
            free_shipping_from_vnd: self.free_shipping_from_vnd,
        }
    }
}

pub fn config(cfg: &mut web::ServiceConfig) {
    api_resource!(cfg, list_households, create_household);
    api_resource!(cfg, get_household, update_household);
}

/// Register a farm household (farmers only); the caller owns it and it joins now.
#[utoipa::path(post, path = "/api/v1/households", tag = "households", request_body = CreateHouseholdRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The household", body = HouseholdView),
        Unauthenticated,
        (status = 403, description = "`forbidden`: only farmers register households", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, e.g. an unknown `commune_code` or `province_code`, or a current province that joined several former ones without a commune", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_household(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    body: ApiJson<CreateHouseholdRequest>,
) -> AppResult<HttpResponse> {
    let household = service::create(&ctx, &caller, body.0.input()).await?;
    Ok(HttpResponse::Created().json(HouseholdView::from(household)))
}

/// List households, newest first. `q` matches name and description whatever the case and
/// diacritics. Suspended households are listed for admins only (`status` filters them).
#[utoipa::path(get, path = "/api/v1/households", tag = "households", params(HouseholdSearch),
    responses(
        (status = 200, description = "One page", body = HouseholdPage),
        MalformedQuery,
        (status = 403, description = "`forbidden`: `status=suspended` by a non-admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: paging out of range, bad province code; `q` over 200 characters or 10 words, any parameter over 200 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_households(
    ctx: web::Data<Context>,
    caller: MaybeUser,
    query: ApiQuery<HouseholdSearch>,
) -> AppResult<HttpResponse> {
    let page = service::list(&ctx, caller.0.as_ref(), &query.0).await?;
    Ok(HttpResponse::Ok().json(page.map(HouseholdView::from)))
}

/// One household; a suspended one is 404 except for its owner and admins.
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "households",
    params(("id" = String, Path, description = "Household id; anything that is not an id is 404")),
    responses(
        (status = 200, description = "The household", body = HouseholdView),
        NotFound,
    ))]
pub(crate) async fn get_household(
    ctx: web::Data<Context>,
    caller: MaybeUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let household = service::get(&ctx, caller.0, &id).await?;
    Ok(HttpResponse::Ok().json(HouseholdView::from(household)))
}

/// Change a household (owner or admin); only admins change `status`.
#[utoipa::path(patch, path = "/api/v1/households/{id}", tag = "households", request_body = UpdateHouseholdRequest,
    params(("id" = String, Path, description = "Household id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed household", body = HouseholdView),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not the owner, or `status` by a non-admin", body = Problem, content_type = "application/problem+json"),
        NotFound,
        Invalid,
    ))]
pub(crate) async fn update_household(
    ctx: web::Data<Context>,
    caller: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<UpdateHouseholdRequest>,
) -> AppResult<HttpResponse> {
    let household = service::update(&ctx, caller, &id, body.0.edit()).await?;
    Ok(HttpResponse::Ok().json(HouseholdView::from(household)))
}

/// `{id, owner_id, name, province_code, current_province_code, commune_code, district, address, phone, description, status, free_shipping_from_vnd, joined_at, created_at}`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: String,
    pub owner_id: Option<String>,
    pub name: String,
    /// On the 2008 map.
    pub province_code: String,
    /// On the current map.
    pub current_province_code: Option<String>,
    pub commune_code: Option<String>,
    /// Legacy free text.
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub status: HouseholdStatus,
    /// Its parcels with goods worth at least this ship free.
    pub free_shipping_from_vnd: Option<i64>,
    #[serde(with = "crate::time::rfc3339")]
    pub joined_at: NaiveDateTime,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
}

impl From<Household> for HouseholdView {
    fn from(h: Household) -> Self {
        HouseholdView {
            id: h.id.to_db(),
            owner_id: h.owner_id.map(|id| id.to_db()),
            name: h.name,
            province_code: h.province_code,
            current_province_code: h.current_province_code,
            commune_code: h.commune_code,
            district: h.district,
            address: h.address,
            phone: h.phone,
            description: h.description,
            status: h.status,
            free_shipping_from_vnd: h.free_shipping_from_vnd,
            joined_at: h.joined_at,
            created_at: h.created_at,
        }
    }
}
