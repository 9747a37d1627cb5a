//! Product rules: who lists and changes what, field validation, visibility and search.

use chrono::NaiveDate;
use serde::Deserialize;

use super::model::{
    CATEGORIES, CERTIFICATIONS, MAX_PRICE_VND, MAX_STOCK_QUANTITY, MAX_UNIT_WEIGHT_GRAMS,
    ProductView, STATUS_ACTIVE, STATUS_ARCHIVED, STATUS_PAUSED, STATUSES, UNIT_MAX_CHARS,
    encode_certifications,
};
use super::repo::{self, Product, ProductChanges, ProductFilter, ProductSort};
use crate::api::{Page, PageParams, Paging};
use crate::auth::{CurrentUser, Role};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult, FieldError};
use crate::households::repo::Household;
use crate::households::service::{can_manage, check_province, visible_household};
use crate::ids::{HouseholdId, ProductId, from_path};
use crate::reports::rollups::RollupBatch;
use crate::search::{optional_query_words, search_text};
use crate::startup::AppState;
use crate::time::now_utc;
use crate::validate::{self, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, Problems};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": "01a2225c-e6cb-712d-9779-57fdd85fbb67", "name": "Vải thiều Lục Ngạn", "category": "fruit", "unit": "kg", "unit_weight_grams": 1000, "price_vnd": 30000, "stock_quantity": 500, "certifications": ["VietGAP"]}))]
pub struct CreateProductRequest {
    pub household_id: String,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    #[serde(default)]
    pub stock_quantity: i64,
    /// Defaults to the household's province.
    pub origin_province_code: Option<String>,
    #[serde(default)]
    pub certifications: Vec<String>,
    pub ocop_stars: Option<i64>,
    pub harvest_from: Option<String>,
    pub harvest_to: Option<String>,
    /// `active` (default) or `paused`.
    pub status: Option<String>,
}

/// Any mutable field (null clears an optional one); `stock_quantity` sets the count.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub description: Option<Option<String>>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub unit_weight_grams: Option<i64>,
    pub price_vnd: Option<i64>,
    pub stock_quantity: Option<i64>,
    pub origin_province_code: Option<String>,
    pub certifications: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub ocop_stars: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub harvest_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    pub harvest_to: Option<Option<String>>,
    pub status: Option<String>,
}

/// (Serialize: the catalogue cache keys on the parsed query.)
#[derive(Debug, Deserialize, serde::Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListProductsQuery {
    pub q: Option<String>,
    pub category: Option<String>,
    pub province_code: Option<String>,
    pub household_id: Option<String>,
    pub certification: Option<String>,
    pub min_price_vnd: Option<i64>,
    pub max_price_vnd: Option<i64>,
    pub in_stock: Option<bool>,
    pub sort: Option<String>,
    /// Owners (with `household_id`) and admins: list products of this status instead of the public listing.
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub fn in_range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, FieldError> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

pub fn date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FieldError::new(field, "must be a date YYYY-MM-DD")),
    }
}

pub fn certifications(problems: &mut Problems, values: &[String]) -> String {
    let mut set = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match CERTIFICATIONS.iter().find(|c| **c == value.as_str()) {
            Some(known) => set.push(*known),
            None => problems.add(
                format!("certifications[{i}]"),
                format!("must be one of {}", CERTIFICATIONS.join(", ")),
            ),
        }
    }
    encode_certifications(&set)
}

pub fn ocop_stars(value: Option<i64>) -> Result<Option<i32>, FieldError> {
    match value {
        None => Ok(None),
        Some(stars @ 3..=5) => Ok(Some(stars as i32)),
        Some(_) => Err(FieldError::new("ocop_stars", "must be 3, 4 or 5 (or null)")),
    }
}

/// Rules across fields, checked on the product's final state.
pub fn check_whole(problems: &mut Problems, product: &ProductChanges) {
    if product.ocop_stars.is_some() && !product.certifications.contains(",OCOP,") {
        problems.add("ocop_stars", "OCOP stars need the OCOP certification");
    }
    if let (Some(from), Some(to)) = (product.harvest_from, product.harvest_to)
        && from > to
    {
        problems.add("harvest_to", "must not be before harvest_from");
    }
}

fn changes_from(product: &Product) -> ProductChanges {
    ProductChanges {
        name: product.name.clone(),
        description: product.description.clone(),
        category: product.category.clone(),
        unit: product.unit.clone(),
        unit_weight_grams: product.unit_weight_grams,
        price_vnd: product.price_vnd,
        stock_quantity: product.stock_quantity,
        origin_province_code: product.origin_province_code.clone(),
        certifications: product.certifications.clone(),
        ocop_stars: product.ocop_stars,
        harvest_from: product.harvest_from,
        harvest_to: product.harvest_to,
        status: product.status.clone(),
        search_text: product.search_text.clone(),
        updated_at: product.updated_at,
    }
}

/// Applies a PATCH to a product's current state, recording every problem.
fn apply_update(
    problems: &mut Problems,
    product: &mut ProductChanges,
    request: UpdateProductRequest,
) {
    macro_rules! set {
        ($field:ident, $result:expr) => {
            if let Some(value) = problems.check($result) {
                product.$field = value;
            }
        };
    }
    if let Some(name) = &request.name {
        set!(name, validate::required_text("name", name, NAME_MAX_CHARS));
    }
    if let Some(description) = &request.description {
        set!(
            description,
            validate::optional_text("description", description.as_deref(), DESCRIPTION_MAX_CHARS)
        );
    }
    if let Some(category) = &request.category {
        set!(category, one_of("category", category, &CATEGORIES));
    }
    if let Some(unit) = &request.unit {
        set!(unit, validate::required_text("unit", unit, UNIT_MAX_CHARS));
    }
    if let Some(grams) = request.unit_weight_grams {
        set!(
            unit_weight_grams,
            in_range("unit_weight_grams", grams, 1, MAX_UNIT_WEIGHT_GRAMS)
        );
    }
    if let Some(price) = request.price_vnd {
        set!(price_vnd, in_range("price_vnd", price, 1, MAX_PRICE_VND));
    }
    if let Some(stock) = request.stock_quantity {
        set!(
            stock_quantity,
            in_range("stock_quantity", stock, 0, MAX_STOCK_QUANTITY)
        );
    }
    if let Some(list) = &request.certifications {
        product.certifications = certifications(problems, list);
    }
    if let Some(stars) = request.ocop_stars {
        set!(ocop_stars, ocop_stars(stars));
    }
    if let Some(from) = &request.harvest_from {
        set!(harvest_from, date("harvest_from", from.as_deref()));
    }
    if let Some(to) = &request.harvest_to {
        set!(harvest_to, date("harvest_to", to.as_deref()));
    }
    if let Some(status) = &request.status {
        set!(status, one_of("status", status, &STATUSES));
    }
}

/// Owners and admins may see a product in any state; everyone else only active products of
/// active households.
fn is_visible_to(caller: Option<&CurrentUser>, product: &Product, household: &Household) -> bool {
    (product.status == STATUS_ACTIVE && household.status == crate::households::model::STATUS_ACTIVE)
        || caller.is_some_and(|c| can_manage(c, household))
}

/// A product with its household, if the caller may see it; else 404.
fn visible_product(
    conn: &mut DbConnection,
    caller: Option<&CurrentUser>,
    id: &ProductId,
) -> AppResult<(Product, Household)> {
    let product = repo::find(conn, &id.to_db())?.ok_or_else(|| AppError::not_found("product"))?;
    let household = crate::households::repo::find(conn, &product.household_id)?
        .ok_or_else(|| AppError::not_found("product"))?;
    if is_visible_to(caller, &product, &household) {
        Ok((product, household))
    } else {
        Err(AppError::not_found("product"))
    }
}

/// A product the caller may change: 404 when they cannot even see it, 403 when they only can see it.
fn manageable_product(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    id: &ProductId,
) -> AppResult<(Product, Household)> {
    let (product, household) = visible_product(conn, Some(caller), id)?;
    if !can_manage(caller, &household) {
        return Err(AppError::forbidden(
            "only the household's owner or an admin may change this product",
        ));
    }
    Ok((product, household))
}

pub async fn create(
    state: &AppState,
    caller: CurrentUser,
    request: CreateProductRequest,
) -> AppResult<ProductView> {
    if caller.role == Role::Buyer {
        return Err(AppError::forbidden("only farmers list products"));
    }
    let Some(household_id) = HouseholdId::parse(&request.household_id) else {
        return Err(AppError::invalid_field(
            "household_id",
            "must be a household id",
        ));
    };
    let mut problems = Problems::new();
    let now = now_utc();
    let name = problems
        .check(validate::required_text(
            "name",
            &request.name,
            NAME_MAX_CHARS,
        ))
        .unwrap_or_default();
    let description = problems
        .check(validate::optional_text(
            "description",
            request.description.as_deref(),
            DESCRIPTION_MAX_CHARS,
        ))
        .flatten();
    let product = ProductChanges {
        search_text: search_text(&name, description.as_deref()),
        name,
        description,
        category: problems
            .check(one_of("category", &request.category, &CATEGORIES))
            .unwrap_or_default(),
        unit: problems
            .check(validate::required_text(
                "unit",
                &request.unit,
                UNIT_MAX_CHARS,
            ))
            .unwrap_or_default(),
        unit_weight_grams: problems
            .check(in_range(
                "unit_weight_grams",
                request.unit_weight_grams,
                1,
                MAX_UNIT_WEIGHT_GRAMS,
            ))
            .unwrap_or(1),
        price_vnd: problems
            .check(in_range("price_vnd", request.price_vnd, 1, MAX_PRICE_VND))
            .unwrap_or(1),
        stock_quantity: problems
            .check(in_range(
                "stock_quantity",
                request.stock_quantity,
                0,
                MAX_STOCK_QUANTITY,
            ))
            .unwrap_or(0),
        origin_province_code: String::new(),
        certifications: certifications(&mut problems, &request.certifications),
        ocop_stars: problems.check(ocop_stars(request.ocop_stars)).flatten(),
        harvest_from: problems
            .check(date("harvest_from", request.harvest_from.as_deref()))
            .flatten(),
        harvest_to: problems
            .check(date("harvest_to", request.harvest_to.as_deref()))
            .flatten(),
        status: problems
            .check(one_of(
                "status",
                request.status.as_deref().unwrap_or(STATUS_ACTIVE),
                &[STATUS_ACTIVE, STATUS_PAUSED],
            ))
            .unwrap_or_default(),
        updated_at: now,
    };
    check_whole(&mut problems, &product);
    let origin = request.origin_province_code.map(|c| c.trim().to_owned());
    let timezone = state.timezone;

    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let household = visible_household(conn, Some(&caller), &household_id)?;
                if !can_manage(&caller, &household) {
                    return Err(AppError::forbidden(
                        "only the household's owner or an admin lists its products",
                    ));
                }
                if household.status != crate::households::model::STATUS_ACTIVE {
                    problems.add("household_id", "the household is suspended");
                }
                let origin_province_code = match origin {
                    Some(code) => {
                        problems.check(check_province(conn, "origin_province_code", &code)?);
                        code
                    }
                    None => household.province_code.clone(),
                };
                problems.finish()?;
                let row = Product {
                    id: ProductId::generate().to_db(),
                    household_id: household.id,
                    name: product.name,
                    description: product.description,
                    category: product.category,
                    unit: product.unit,
                    unit_weight_grams: product.unit_weight_grams,
                    price_vnd: product.price_vnd,
                    stock_quantity: product.stock_quantity,
                    origin_province_code,
                    certifications: product.certifications,
                    ocop_stars: product.ocop_stars,
                    harvest_from: product.harvest_from,
                    harvest_to: product.harvest_to,
                    status: product.status,
                    views: 0,
                    search_text: product.search_text,
                    created_at: now,
                    updated_at: now,
                };
                repo::insert(conn, &row)?;
                let mut rollups = RollupBatch::new(timezone);
                rollups.product_listed(&row);
                rollups.write_at_commit(conn)?;
                Ok(row.into())
            })
        })
        .await
}

pub async fn list(
    state: &AppState,
    caller: Option<CurrentUser>,
    query: ListProductsQuery,
) -> AppResult<Page<ProductView>> {
    let mut problems = Problems::new();
    let paging = Paging::parse(
        PageParams {
            page: query.page,
            per_page: query.per_page,
        },
        &mut problems.0,
    );
    let sort = match query.sort.as_deref() {
        None | Some("newest") => ProductSort::Newest,
        Some("price_asc") => ProductSort::PriceAsc,
        Some("price_desc") => ProductSort::PriceDesc,
        Some("popular") => ProductSort::Popular,
        Some(_) => {
            problems.add(
                "sort",
                "must be one of newest, price_asc, price_desc, popular",
            );
            ProductSort::Newest
        }
    };
    let category = query
        .category
        .as_deref()
        .and_then(|c| problems.check(one_of("category", c, &CATEGORIES)));
    let certification = query
        .certification
        .as_deref()
        .and_then(|c| problems.check(one_of("certification", c, &CERTIFICATIONS)));
    if let Some(code) = &query.province_code
        && !crate::provinces::looks_like_code(code)
    {
        problems.add("province_code", "must be a two-digit province code");
    }
    let household_id = query.household_id.as_deref().and_then(|id| {
        let parsed = HouseholdId::parse(id);
        if parsed.is_none() {
            problems.add("household_id", "must be a household id");
        }
        parsed
    });
    for (field, value) in [
        ("min_price_vnd", query.min_price_vnd),
        ("max_price_vnd", query.max_price_vnd),
    ] {
        if let Some(value) = value {
            problems.check(in_range(field, value, 0, MAX_PRICE_VND));
        }
    }
    if let (Some(min), Some(max)) = (query.min_price_vnd, query.max_price_vnd)
        && min > max
    {
        problems.add("max_price_vnd", "must not be below min_price_vnd");
    }
    let status = query
        .status
        .as_deref()
        .and_then(|s| problems.check(one_of("status", s, &STATUSES)));
    let words = problems.check(optional_query_words(query.q.as_deref()));
    problems.finish()?;

    let filter = ProductFilter {
        words: words.unwrap_or_default(),
        category,
        origin_province_code: query.province_code,
        household_id: household_id.map(|id| id.to_db()),
        certification,
        min_price_vnd: query.min_price_vnd,
        max_price_vnd: query.max_price_vnd,
        in_stock: query.in_stock.unwrap_or(false),
        status,
    };
    let (rows, total) = state
        .db
        .run(move |conn| {
            if filter.status.is_some() {
                authorize_status_filter(conn, caller.as_ref(), household_id.as_ref())?;
            }
            Ok(repo::list(conn, &filter, sort, paging)?)
        })
        .await?;
    Ok(Page::new(
        rows.into_iter().map(Into::into).collect(),
        paging,
        total,
    ))
}

/// Listing by status (paused or archived products) is for admins, and for owners within their household.
fn authorize_status_filter(
    conn: &mut DbConnection,
    caller: Option<&CurrentUser>,
    household_id: Option<&HouseholdId>,
) -> AppResult<()> {
    let Some(caller) = caller else {
        return Err(AppError::unauthenticated(
            "sign in to list products by status",
        ));
    };
    if caller.is_admin() {
        return Ok(());
    }
    let manages = match household_id {
        Some(id) => crate::households::repo::find(conn, &id.to_db())?
            .is_some_and(|h| can_manage(caller, &h)),
        None => false,
    };
    if manages {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "status is for admins, or for owners together with their household_id",
        ))
    }
}

/// Reads a product and counts one view of it (one per client address and `views.dedup_window`).
pub async fn get(
    state: &AppState,
    caller: Option<CurrentUser>,
    id: &str,
    client: Option<std::net::IpAddr>,
) -> AppResult<ProductView> {
    let id = from_path(id, ProductId::parse, "product")?;
    let (product, _) = state
        .db
        .run(move |conn| visible_product(conn, caller.as_ref(), &id))
        .await?;
    state.views.record(&product.id, state.today(), client);
    let mut view = ProductView::from(product);
    // Views are written in batches; show this process's not-yet-written ones too.
    view.views += state.views.pending(&view.id);
    Ok(view)
}

pub async fn update(
    state: &AppState,
    caller: CurrentUser,
    id: &str,
    request: UpdateProductRequest,
) -> AppResult<ProductView> {
    let id = from_path(id, ProductId::parse, "product")?;
    let timezone = state.timezone;
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (product, _) = manageable_product(conn, &caller, &id)?;
                let mut problems = Problems::new();
                let mut changes = changes_from(&product);
                let origin = request.origin_province_code.clone();
                apply_update(&mut problems, &mut changes, request);
                if let Some(code) = origin {
                    let code = code.trim().to_owned();
                    problems.check(check_province(conn, "origin_province_code", &code)?);
                    changes.origin_province_code = code;
                }
                check_whole(&mut problems, &changes);
                problems.finish()?;
                changes.search_text = search_text(&changes.name, changes.description.as_deref());
                changes.updated_at = now_utc();
                repo::update(conn, &product.id, &changes)?;
                let mut rollups = RollupBatch::new(timezone);
                rollups.product_status_changed(&product, &changes.status);
                rollups.write_at_commit(conn)?;
                let updated =
                    repo::find(conn, &product.id)?.ok_or_else(|| AppError::not_found("product"))?;
                Ok(updated.into())
            })
        })
        .await
}

/// Archives a product: it leaves the listings and cannot be ordered; old orders keep it.
pub async fn archive(state: &AppState, caller: CurrentUser, id: &str) -> AppResult<()> {
    let id = from_path(id, ProductId::parse, "product")?;
    let timezone = state.timezone;
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (product, _) = manageable_product(conn, &caller, &id)?;
                if product.status != STATUS_ARCHIVED {
                    repo::set_status(conn, &product.id, STATUS_ARCHIVED, now_utc())?;
                    let mut rollups = RollupBatch::new(timezone);
                    rollups.product_status_changed(&product, STATUS_ARCHIVED);
                    rollups.write_at_commit(conn)?;
                }
                Ok(())
            })
        })
        .await
}
