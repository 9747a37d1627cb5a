//! Household rules: farmers register households; the public sees active ones; owners and
//! admins change them, and only admins suspend.

use super::model::{
    HouseholdDraft, HouseholdEdit, HouseholdInput, HouseholdSearch, HouseholdStatus,
};
use super::repo::{self, Household, HouseholdChanges, HouseholdFilter};
use crate::api::{Page, Paging};
use crate::auth::{CurrentUser, Role};
use crate::context::Context;
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::ids::{HouseholdId, UserId, from_path};
use crate::provinces::ProvinceMap;
use crate::search::{optional_query_words, search_text};
use crate::stats::StatsBatch;
use crate::time::now_utc;
use crate::validate::Problems;

/// Owners and admins manage a household.
pub fn can_manage(caller: &CurrentUser, household: &Household) -> bool {
    caller.is_admin() || household.owner_id == Some(caller.id)
}

/// Suspended households exist only for their owner and admins.
pub fn is_visible_to(caller: Option<&CurrentUser>, household: &Household) -> bool {
    household.status == HouseholdStatus::Active || caller.is_some_and(|c| can_manage(c, household))
}

pub async fn create(
    ctx: &Context,
    caller: &CurrentUser,
    input: HouseholdInput<'_>,
) -> AppResult<Household> {
    if caller.role != Role::Farmer {
        return Err(AppError::forbidden("only farmers register farm households"));
    }
    let mut problems = Problems::new();
    let draft = HouseholdDraft::parse(&mut problems, input, &ctx.map);
    let owner_id = caller.id;
    let timezone = ctx.timezone;
    ctx.db
        .run(move |conn| {
            // A farmer an admin has stopped once does not start over under a new household.
            if repo::owner_has_status(conn, &owner_id, HouseholdStatus::Suspended)? {
                return Err(AppError::refused(
                    "owner_suspended",
                    "a household of yours is suspended; you cannot register another one",
                ));
            }
            problems.finish()?;
            let draft = draft.expect("a draft without problems");
            let household = draft.into_row(
                HouseholdId::generate(),
                Some(owner_id),
                HouseholdStatus::Active,
                now_utc(),
            );
            write_transaction(conn, |conn| {
                repo::insert(conn, &household)?;
                let mut rollups = StatsBatch::new(timezone);
                rollups.household_joined(household.joined());
                rollups.write_at_commit(conn)
            })?;
            Ok(household)
        })
        .await
}

pub async fn list(
    ctx: &Context,
    caller: Option<&CurrentUser>,
    search: &HouseholdSearch,
) -> AppResult<Page<Household>> {
    let mut problems = Problems::new();
    let paging = Paging::parse(search.page, search.per_page, &mut problems.0);
    let is_admin = caller.is_some_and(CurrentUser::is_admin);
    let status = match search
        .status
        .as_deref()
        .map(|s| HouseholdStatus::parse_field("status", s))
    {
        None if is_admin => None,
        None | Some(Ok(HouseholdStatus::Active)) => Some(HouseholdStatus::Active),
        Some(Ok(HouseholdStatus::Suspended)) if is_admin => Some(HouseholdStatus::Suspended),
        Some(Ok(HouseholdStatus::Suspended)) => {
            return Err(AppError::forbidden("only admins list suspended households"));
        }
        Some(Err(problem)) => {
            problems.0.push(problem);
            None
        }
    };
    let map = crate::provinces::query_map(&mut problems, search.map.as_deref());
    if let Some(code) = search.province_code.as_deref()
        && !crate::provinces::looks_like_code(code)
    {
        problems.add("province_code", "must be a two-digit province code");
    }
    let words = problems
        .check(optional_query_words(search.q.as_deref()))
        .unwrap_or_default();
    problems.finish()?;
    let code = search.province_code.clone();
    let filter = HouseholdFilter {
        province_code: code.clone().filter(|_| map == ProvinceMap::Former),
        current_province_code: code.filter(|_| map == ProvinceMap::Current),
        words,
        status,
        owner_id: None,
    };
    let (rows, total) = ctx
        .db
        .run(move |conn| Ok(repo::list(conn, &filter, paging)?))
        .await?;
    Ok(Page::new(rows, paging, total))
}

/// Loads a household the caller may see, else 404.
pub fn visible_household(
    conn: &mut DbConnection,
    caller: Option<&CurrentUser>,
    id: &HouseholdId,
) -> AppResult<Household> {
    repo::find(conn, id)?
        .filter(|h| is_visible_to(caller, h))
        .ok_or_else(|| AppError::not_found("household"))
}

pub async fn get(ctx: &Context, caller: Option<CurrentUser>, id: &str) -> AppResult<Household> {
    let id = from_path(id, HouseholdId::parse, "household")?;
    ctx.db
        .run(move |conn| visible_household(conn, caller.as_ref(), &id))
        .await
}

pub async fn update(
    ctx: &Context,
    caller: CurrentUser,
    id: &str,
    edit: HouseholdEdit<'_>,
) -> AppResult<Household> {
    let id = from_path(id, HouseholdId::parse, "household")?;
    let mut problems = Problems::new();
    let mut changes = edit.changes(&mut problems, &ctx.map);
    if let Some(status) = edit.status {
        if !caller.is_admin() {
            return Err(AppError::forbidden(
                "only admins change a household's status",
            ));
        }
        changes.status = problems.check(HouseholdStatus::parse_field("status", status));
    }
    let timezone = ctx.timezone;
    let updated = ctx
        .db
        .write(move |conn| {
            // Locked for the change: its status (for the totals) and its name and
            // description (for the search text) are what this change builds on.
            let household = repo::find_for_update(conn, &id)?
                .filter(|h| is_visible_to(Some(&caller), h))
                .ok_or_else(|| AppError::not_found("household"))?;
            if !can_manage(&caller, &household) {
                return Err(AppError::forbidden(
                    "only the household's owner or an admin may change it",
                ));
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
            if let Some(status) = changes.status {
                repo::forget_suspended_with_owner(conn, &household.id)?;
                let mut rollups = StatsBatch::new(timezone);
                rollups.household_status_changed(household.status_changed(status));
                rollups.write_at_commit(conn)?;
            }
            let updated =
                repo::find(conn, &household.id)?.ok_or_else(|| AppError::not_found("household"))?;
            Ok(updated)
        })
        .await?;
    ctx.catalogue_caught_up().await;
    Ok(updated)
}

/// The owner's account was suspended: their active households are suspended with it (so every
/// visibility check hides their products) and remembered. Runs inside a write transaction.
pub fn suspend_with_owner(
    conn: &mut DbConnection,
    owner_id: &UserId,
    timezone: chrono_tz::Tz,
) -> AppResult<()> {
    let mut rollups = StatsBatch::new(timezone);
    for household in repo::owned_with_status(conn, owner_id, HouseholdStatus::Active)? {
        set_status(conn, &household, HouseholdStatus::Suspended, &mut rollups)?;
        repo::remember_suspended_with_owner(conn, &household.id, owner_id)?;
    }
    Ok(rollups.write_at_commit(conn)?)
}

/// The owner's account was reinstated: the households suspended with it become active again.
pub fn reinstate_with_owner(
    conn: &mut DbConnection,
    owner_id: &UserId,
    timezone: chrono_tz::Tz,
) -> AppResult<()> {
    let mut rollups = StatsBatch::new(timezone);
    for household in repo::take_suspended_with_owner(conn, owner_id)? {
        set_status(conn, &household, HouseholdStatus::Active, &mut rollups)?;
    }
    Ok(rollups.write_at_commit(conn)?)
}

/// Changes one household's status and counts the change in the statistics, as a PATCH does.
fn set_status(
    conn: &mut DbConnection,
    household: &Household,
    status: HouseholdStatus,
    rollups: &mut StatsBatch,
) -> AppResult<()> {
    if household.status == status {
        return Ok(());
    }
    let changes = HouseholdChanges {
        status: Some(status),
        updated_at: Some(now_utc()),
        ..Default::default()
    };
    repo::update(conn, &household.id, &changes)?;
    rollups.household_status_changed(household.status_changed(status));
    Ok(())
}
