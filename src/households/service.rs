//! Household rules: farmers register households; the public sees active ones; owners and
//! admins change them, and only admins suspend.

use serde::Deserialize;

use super::model::{
    HouseholdDraft, HouseholdInput, HouseholdView, STATUS_ACTIVE, STATUS_SUSPENDED,
};
use super::repo::{self, Household, HouseholdChanges, HouseholdFilter};
use crate::api::{Page, PageParams, Paging};
use crate::auth::{CurrentUser, Role};
use crate::context::Context;
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult, FieldError};
use crate::ids::{HouseholdId, from_path};
use crate::search::{optional_query_words, search_text};
use crate::stats::StatsBatch;
use crate::time::now_utc;
use crate::validate::{self, ADDRESS_MAX_CHARS, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, Problems};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Hộ ông Nguyễn Văn Hùng", "province_code": "24", "district": "Lục Ngạn"}))]
pub struct CreateHouseholdRequest {
    pub name: String,
    pub province_code: String,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
}

/// Any of the create fields (null clears an optional one); `status` (`active`/`suspended`) is for admins.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHouseholdRequest {
    pub name: Option<String>,
    pub province_code: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub district: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub description: Option<Option<String>>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListHouseholdsQuery {
    pub province_code: Option<String>,
    pub q: Option<String>,
    /// Admins only: `active` or `suspended` (admins see both by default).
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Owners and admins manage a household.
pub fn can_manage(caller: &CurrentUser, household: &Household) -> bool {
    caller.is_admin() || household.owner_id.as_deref() == Some(caller.id.to_db().as_str())
}

/// Suspended households exist only for their owner and admins.
pub fn is_visible_to(caller: Option<&CurrentUser>, household: &Household) -> bool {
    household.status == STATUS_ACTIVE || caller.is_some_and(|c| can_manage(c, household))
}

/// Checks a province code's shape (cheap) and existence (one lookup).
pub fn check_province(
    conn: &mut DbConnection,
    field: &str,
    code: &str,
) -> AppResult<Result<(), FieldError>> {
    let known = crate::provinces::looks_like_code(code) && crate::provinces::exists(conn, code)?;
    Ok(if known {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "unknown province code; see GET /api/v1/provinces",
        ))
    })
}

pub async fn create(
    ctx: &Context,
    caller: &CurrentUser,
    request: CreateHouseholdRequest,
) -> AppResult<HouseholdView> {
    if caller.role != Role::Farmer {
        return Err(AppError::forbidden("only farmers register farm households"));
    }
    let mut problems = Problems::new();
    let draft = HouseholdDraft::parse(
        &mut problems,
        HouseholdInput {
            name: &request.name,
            province_code: &request.province_code,
            district: request.district.as_deref(),
            address: request.address.as_deref(),
            phone: request.phone.as_deref(),
            description: request.description.as_deref(),
        },
    );
    let province_code = request.province_code.trim().to_owned();
    let owner_id = caller.id.to_db();
    let timezone = ctx.timezone;
    ctx.db
        .run(move |conn| {
            // A farmer an admin has stopped once does not start over under a new household.
            if repo::owner_has_status(conn, &owner_id, STATUS_SUSPENDED)? {
                return Err(AppError::refused(
                    "owner_suspended",
                    "a household of yours is suspended; you cannot register another one",
                ));
            }
            problems.check(check_province(conn, "province_code", &province_code)?);
            problems.finish()?;
            let draft = draft.expect("a draft without problems");
            let household = draft.into_row(
                HouseholdId::generate().to_db(),
                Some(owner_id),
                STATUS_ACTIVE,
                now_utc(),
            );
            write_transaction(conn, |conn| {
                repo::insert(conn, &household)?;
                let mut rollups = StatsBatch::new(timezone);
                rollups.household_joined(household.joined());
                rollups.write_at_commit(conn)
            })?;
            Ok(household.into())
        })
        .await
}

pub async fn list(
    ctx: &Context,
    caller: Option<&CurrentUser>,
    query: ListHouseholdsQuery,
) -> AppResult<Page<HouseholdView>> {
    let mut problems = Vec::new();
    let paging = Paging::parse(
        PageParams {
            page: query.page,
            per_page: query.per_page,
        },
        &mut problems,
    );
    let is_admin = caller.is_some_and(CurrentUser::is_admin);
    let status = match query.status.as_deref() {
        None if is_admin => None,
        None | Some(STATUS_ACTIVE) => Some(STATUS_ACTIVE.to_owned()),
        Some(STATUS_SUSPENDED) if is_admin => Some(STATUS_SUSPENDED.to_owned()),
        Some(STATUS_SUSPENDED) => {
            return Err(AppError::forbidden("only admins list suspended households"));
        }
        Some(_) => {
            problems.push(FieldError::new("status", "must be active or suspended"));
            None
        }
    };
    if let Some(code) = &query.province_code
        && !crate::provinces::looks_like_code(code)
    {
        problems.push(FieldError::new(
            "province_code",
            "must be a two-digit province code",
        ));
    }
    let words = optional_query_words(query.q.as_deref()).unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });
    if !problems.is_empty() {
        return Err(AppError::validation(problems));
    }
    let filter = HouseholdFilter {
        province_code: query.province_code,
        words,
        status,
        owner_id: None,
    };
    let (rows, total) = ctx
        .db
        .run(move |conn| Ok(repo::list(conn, &filter, paging)?))
        .await?;
    Ok(Page::new(
        rows.into_iter().map(Into::into).collect(),
        paging,
        total,
    ))
}

/// Loads a household the caller may see, else 404.
pub fn visible_household(
    conn: &mut DbConnection,
    caller: Option<&CurrentUser>,
    id: &HouseholdId,
) -> AppResult<Household> {
    repo::find(conn, &id.to_db())?
        .filter(|h| is_visible_to(caller, h))
        .ok_or_else(|| AppError::not_found("household"))
}

pub async fn get(ctx: &Context, caller: Option<CurrentUser>, id: &str) -> AppResult<HouseholdView> {
    let id = from_path(id, HouseholdId::parse, "household")?;
    ctx.db
        .run(move |conn| Ok(visible_household(conn, caller.as_ref(), &id)?.into()))
        .await
}

pub async fn update(
    ctx: &Context,
    caller: CurrentUser,
    id: &str,
    request: UpdateHouseholdRequest,
) -> AppResult<HouseholdView> {
    let id = from_path(id, HouseholdId::parse, "household")?;
    let mut problems = Problems::new();
    let mut changes = HouseholdChanges {
        name: request
            .name
            .as_deref()
            .and_then(|n| problems.check(validate::required_text("name", n, NAME_MAX_CHARS))),
        district: request.district.as_ref().and_then(|d| {
            problems.check(validate::optional_text(
                "district",
                d.as_deref(),
                NAME_MAX_CHARS,
            ))
        }),
        address: request.address.as_ref().and_then(|a| {
            problems.check(validate::optional_text(
                "address",
                a.as_deref(),
                ADDRESS_MAX_CHARS,
            ))
        }),
        phone: request
            .phone
            .as_ref()
            .and_then(|p| problems.check(validate::optional_phone("phone", p.as_deref()))),
        description: request.description.as_ref().and_then(|d| {
            problems.check(validate::optional_text(
                "description",
                d.as_deref(),
                DESCRIPTION_MAX_CHARS,
            ))
        }),
        ..Default::default()
    };
    match request.status.as_deref() {
        None => {}
        Some(_) if !caller.is_admin() => {
            return Err(AppError::forbidden(
                "only admins change a household's status",
            ));
        }
        Some(status @ (STATUS_ACTIVE | STATUS_SUSPENDED)) => {
            changes.status = Some(status.to_owned())
        }
        Some(_) => problems.add("status", "must be active or suspended"),
    }
    let province_code = request.province_code.map(|c| c.trim().to_owned());
    let timezone = ctx.timezone;
    ctx.db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                // Locked for the change: its status (for the totals) and its name and
                // description (for the search text) are what this change builds on.
                let household = repo::find_for_update(conn, &id.to_db())?
                    .filter(|h| is_visible_to(Some(&caller), h))
                    .ok_or_else(|| AppError::not_found("household"))?;
                if !can_manage(&caller, &household) {
                    return Err(AppError::forbidden(
                        "only the household's owner or an admin may change it",
                    ));
                }
                if let Some(code) = &province_code {
                    problems.check(check_province(conn, "province_code", code)?);
                    changes.province_code = Some(code.clone());
                }
                problems.finish()?;
                let name = changes
                    .name
                    .clone()
                    .unwrap_or_else(|| household.name.clone());
                let description = match &changes.description {
                    Some(description) => description.clone(),
                    None => household.description.clone(),
                };
                changes.search_text = Some(search_text(&name, description.as_deref()));
                changes.updated_at = Some(now_utc());
                repo::update(conn, &household.id, &changes)?;
                if let Some(status) = &changes.status {
                    repo::forget_suspended_with_owner(conn, &household.id)?;
                    let mut rollups = StatsBatch::new(timezone);
                    rollups.household_status_changed(household.status_changed(status));
                    rollups.write_at_commit(conn)?;
                }
                let updated = repo::find(conn, &household.id)?
                    .ok_or_else(|| AppError::not_found("household"))?;
                Ok(updated.into())
            })
        })
        .await
}

/// The owner's account was suspended: their active households are suspended with it (so every
/// visibility check hides their products) and remembered. Runs inside a write transaction.
pub fn suspend_with_owner(
    conn: &mut DbConnection,
    owner_id: &str,
    timezone: chrono_tz::Tz,
) -> AppResult<()> {
    let mut rollups = StatsBatch::new(timezone);
    for household in repo::owned_with_status(conn, owner_id, STATUS_ACTIVE)? {
        set_status(conn, &household, STATUS_SUSPENDED, &mut rollups)?;
        repo::remember_suspended_with_owner(conn, &household.id, owner_id)?;
    }
    Ok(rollups.write_at_commit(conn)?)
}

/// The owner's account was reinstated: the households suspended with it become active again.
pub fn reinstate_with_owner(
    conn: &mut DbConnection,
    owner_id: &str,
    timezone: chrono_tz::Tz,
) -> AppResult<()> {
    let mut rollups = StatsBatch::new(timezone);
    for household in repo::take_suspended_with_owner(conn, owner_id)? {
        set_status(conn, &household, STATUS_ACTIVE, &mut rollups)?;
    }
    Ok(rollups.write_at_commit(conn)?)
}

/// Changes one household's status and counts the change in the statistics, as a PATCH does.
fn set_status(
    conn: &mut DbConnection,
    household: &Household,
    status: &str,
    rollups: &mut StatsBatch,
) -> AppResult<()> {
    if household.status == status {
        return Ok(());
    }
    let changes = HouseholdChanges {
        status: Some(status.to_owned()),
        updated_at: Some(now_utc()),
        ..Default::default()
    };
    repo::update(conn, &household.id, &changes)?;
    rollups.household_status_changed(household.status_changed(status));
    Ok(())
}
