//! Product rules: who lists and changes what, field validation, visibility and search.

use serde::Deserialize;

use super::model::{
    CATEGORIES, CERTIFICATIONS, MAX_PRICE_VND, MAX_STOCK_QUANTITY, MAX_UNIT_WEIGHT_GRAMS,
    ProductView, STATUS_ACTIVE, STATUS_ARCHIVED, STATUS_PAUSED, STATUSES, UNIT_MAX_CHARS,
};
use super::model::{ProductDraft, ProductInput, certifications, ocop_stars};
use super::repo::{self, Product, ProductFilter, ProductPatch, ProductSort};
use super::views::ViewCounter;
use crate::api::{Page, PageParams, Paging};
use crate::auth::{CurrentUser, Role};
use crate::context::Context;
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::households::repo::Household;
use crate::households::service::{can_manage, check_province, visible_household};
use crate::ids::{HouseholdId, ProductId, from_path};
use crate::search::{optional_query_words, search_text};
use crate::stats::StatsBatch;
use crate::time::now_utc;
use crate::validate::{
    self, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, Problems, in_range, one_of, optional_date,
};

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

/// Validates a PATCH into the columns it changes, recording every problem. The origin province
/// is checked against the database in the transaction.
fn patch_from(problems: &mut Problems, request: &UpdateProductRequest) -> ProductPatch {
    ProductPatch {
        name: request
            .name
            .as_deref()
            .and_then(|name| problems.check(validate::required_text("name", name, NAME_MAX_CHARS))),
        description: request.description.as_ref().and_then(|description| {
            problems.check(validate::optional_text(
                "description",
                description.as_deref(),
                DESCRIPTION_MAX_CHARS,
            ))
        }),
        category: request
            .category
            .as_deref()
            .and_then(|category| problems.check(one_of("category", category, &CATEGORIES))),
        unit: request
            .unit
            .as_deref()
            .and_then(|unit| problems.check(validate::required_text("unit", unit, UNIT_MAX_CHARS))),
        unit_weight_grams: request.unit_weight_grams.and_then(|grams| {
            problems.check(in_range(
                "unit_weight_grams",
                grams,
                1,
                MAX_UNIT_WEIGHT_GRAMS,
            ))
        }),
        price_vnd: request
            .price_vnd
            .and_then(|price| problems.check(in_range("price_vnd", price, 1, MAX_PRICE_VND))),
        stock_quantity: request.stock_quantity.and_then(|stock| {
            problems.check(in_range("stock_quantity", stock, 0, MAX_STOCK_QUANTITY))
        }),
        certifications: request
            .certifications
            .as_ref()
            .map(|list| certifications(problems, list)),
        ocop_stars: request
            .ocop_stars
            .and_then(|stars| problems.check(ocop_stars(stars))),
        harvest_from: request
            .harvest_from
            .as_ref()
            .and_then(|from| problems.check(optional_date("harvest_from", from.as_deref()))),
        harvest_to: request
            .harvest_to
            .as_ref()
            .and_then(|to| problems.check(optional_date("harvest_to", to.as_deref()))),
        status: request
            .status
            .as_deref()
            .and_then(|status| problems.check(one_of("status", status, &STATUSES))),
        ..ProductPatch::default()
    }
}

/// A product's state once `patch` is applied (for the rules across fields and the search text).
fn patched(product: &Product, patch: &ProductPatch) -> ProductDraft {
    fn or<T: Clone>(given: &Option<T>, current: &T) -> T {
        given.as_ref().unwrap_or(current).clone()
    }
    let name = or(&patch.name, &product.name);
    let description = or(&patch.description, &product.description);
    ProductDraft {
        search_text: search_text(&name, description.as_deref()),
        name,
        description,
        category: or(&patch.category, &product.category),
        unit: or(&patch.unit, &product.unit),
        unit_weight_grams: or(&patch.unit_weight_grams, &product.unit_weight_grams),
        price_vnd: or(&patch.price_vnd, &product.price_vnd),
        stock_quantity: or(&patch.stock_quantity, &product.stock_quantity),
        certifications: or(&patch.certifications, &product.certifications),
        ocop_stars: or(&patch.ocop_stars, &product.ocop_stars),
        harvest_from: or(&patch.harvest_from, &product.harvest_from),
        harvest_to: or(&patch.harvest_to, &product.harvest_to),
        status: or(&patch.status, &product.status),
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
    with_visible_household(conn, caller, product)
}

fn with_visible_household(
    conn: &mut DbConnection,
    caller: Option<&CurrentUser>,
    product: Product,
) -> AppResult<(Product, Household)> {
    let household = crate::households::repo::find(conn, &product.household_id)?
        .ok_or_else(|| AppError::not_found("product"))?;
    if is_visible_to(caller, &product, &household) {
        Ok((product, household))
    } else {
        Err(AppError::not_found("product"))
    }
}

/// A product the caller may change, its row locked for the change (see `repo::find_for_update`):
/// 404 when they cannot even see it, 403 when they only can see it.
fn manageable_product(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    id: &ProductId,
) -> AppResult<(Product, Household)> {
    let product =
        repo::find_for_update(conn, &id.to_db())?.ok_or_else(|| AppError::not_found("product"))?;
    let (product, household) = with_visible_household(conn, Some(caller), product)?;
    if !can_manage(caller, &household) {
        return Err(AppError::forbidden(
            "only the household's owner or an admin may change this product",
        ));
    }
    Ok((product, household))
}

pub async fn create(
    ctx: &Context,
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
    let product = ProductDraft::parse(
        &mut problems,
        ProductInput {
            name: &request.name,
            description: request.description.as_deref(),
            category: &request.category,
            unit: &request.unit,
            unit_weight_grams: request.unit_weight_grams,
            price_vnd: request.price_vnd,
            stock_quantity: request.stock_quantity,
            certifications: &request.certifications,
            ocop_stars: request.ocop_stars,
            harvest_from: request.harvest_from.as_deref(),
            harvest_to: request.harvest_to.as_deref(),
            status: request.status.as_deref(),
        },
        &[STATUS_ACTIVE, STATUS_PAUSED],
    );
    let origin = request.origin_province_code.map(|c| c.trim().to_owned());
    let timezone = ctx.timezone;

    ctx.db
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
                let row = product.into_row(
                    ProductId::generate().to_db(),
                    household.id,
                    origin_province_code,
                    now_utc(),
                );
                repo::insert(conn, &row)?;
                let mut rollups = StatsBatch::new(timezone);
                rollups.product_listed(row.listed());
                rollups.write_at_commit(conn)?;
                Ok(row.into())
            })
        })
        .await
}

pub async fn list(
    ctx: &Context,
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
    let (rows, total) = ctx
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
    ctx: &Context,
    views: &ViewCounter,
    caller: Option<CurrentUser>,
    id: &str,
    client: Option<std::net::IpAddr>,
) -> AppResult<ProductView> {
    let id = from_path(id, ProductId::parse, "product")?;
    let (product, _) = ctx
        .db
        .run(move |conn| visible_product(conn, caller.as_ref(), &id))
        .await?;
    views.record(&product.id, ctx.today(), client);
    let mut view = ProductView::from(product);
    // Views are written in batches; show this process's not-yet-written ones too.
    view.views += views.pending(&view.id);
    Ok(view)
}

pub async fn update(
    ctx: &Context,
    caller: CurrentUser,
    id: &str,
    request: UpdateProductRequest,
) -> AppResult<ProductView> {
    let id = from_path(id, ProductId::parse, "product")?;
    let mut problems = Problems::new();
    let mut patch = patch_from(&mut problems, &request);
    let origin = request
        .origin_province_code
        .map(|code| code.trim().to_owned());
    let timezone = ctx.timezone;
    ctx.db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (product, _) = manageable_product(conn, &caller, &id)?;
                if let Some(code) = origin {
                    problems.check(check_province(conn, "origin_province_code", &code)?);
                    patch.origin_province_code = Some(code);
                }
                let whole = patched(&product, &patch);
                whole.check_whole(&mut problems);
                problems.finish()?;
                if patch.name.is_some() || patch.description.is_some() {
                    patch.search_text = Some(whole.search_text);
                }
                patch.updated_at = Some(now_utc());
                repo::update(conn, &product.id, &patch)?;
                if let Some(status) = &patch.status {
                    let mut rollups = StatsBatch::new(timezone);
                    rollups.product_status_changed(product.status_changed(status));
                    rollups.write_at_commit(conn)?;
                }
                let updated =
                    repo::find(conn, &product.id)?.ok_or_else(|| AppError::not_found("product"))?;
                Ok(updated.into())
            })
        })
        .await
}

/// Archives a product: it leaves the listings and cannot be ordered; old orders keep it.
pub async fn archive(ctx: &Context, caller: CurrentUser, id: &str) -> AppResult<()> {
    let id = from_path(id, ProductId::parse, "product")?;
    let timezone = ctx.timezone;
    ctx.db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (product, _) = manageable_product(conn, &caller, &id)?;
                if product.status != STATUS_ARCHIVED {
                    repo::set_status(conn, &product.id, STATUS_ARCHIVED, now_utc())?;
                    let mut rollups = StatsBatch::new(timezone);
                    rollups.product_status_changed(product.status_changed(STATUS_ARCHIVED));
                    rollups.write_at_commit(conn)?;
                }
                Ok(())
            })
        })
        .await
}
