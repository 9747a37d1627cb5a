//! Product rules: who lists and changes what, field validation, visibility and search.

use super::model::{
    CATEGORIES, CERTIFICATIONS, ProductDraft, ProductEdit, ProductInput, ProductSearch,
    ProductStatus, adjusted_stock, with_origin,
};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::repo::{self, Product, ProductFilter};
use super::views::ViewCounter;
use crate::api::{Page, Paging};
use crate::auth::{CurrentUser, Role};
use crate::catalogue::{Catalogue, CatalogueQuery, Facet, FacetCount, Sort};
use crate::context::Context;
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::households::model::HouseholdStatus;
use crate::households::repo::Household;
use crate::households::service::{can_manage, visible_household};
use crate::ids::{HouseholdId, ProductId, from_path};
use crate::provinces::{AdminMap, MappedProvince, PlaceFields, ProvinceMap};
use crate::search::{optional_query_words, search_text};
use crate::stats::StatsBatch;
use crate::time::now_utc;
use crate::validate::{MAX_VND, Problems, in_range, one_of};

/// Writes every product's search text again, with its origin's names (after the migration that
/// brought the current map: rows written before it had only their name and description).
pub fn refresh_search_texts(conn: &mut DbConnection, map: &AdminMap) -> AppResult<usize> {
    const BATCH: i64 = 2_000;
    let mut after = None;
    let mut written = 0;
    loop {
        let batch = repo::search_sources(conn, after, BATCH)?;
        let Some((last, ..)) = batch.last() else {
            return Ok(written);
        };
        after = Some(*last);
        let texts: Vec<(String, String)> = batch
            .iter()
            .map(|(id, name, description, code, origin_map)| {
                let text = with_origin(
                    search_text(name, description.as_deref()),
                    &map.search_names(code, *origin_map),
                );
                (id.to_db(), text)
            })
            .collect();
        write_transaction(conn, |conn| repo::set_search_texts(conn, &texts))?;
        written += texts.len();
    }
}

/// A product's origin when its farmer gives none: the household's (2008) province.
fn household_origin(household: &Household) -> MappedProvince {
    MappedProvince {
        code: household.province_code.clone(),
        map: ProvinceMap::Former,
        current_code: household.current_province_code.clone().unwrap_or_default(),
    }
}

/// Owners and admins may see a product in any state; everyone else only active products of
/// active households.
fn is_visible_to(caller: Option<&CurrentUser>, product: &Product, household: &Household) -> bool {
    (product.status == ProductStatus::Active && household.status == HouseholdStatus::Active)
        || caller.is_some_and(|c| can_manage(c, household))
}

/// A product with its household, if the caller may see it; else 404.
fn visible_product(
    conn: &mut DbConnection,
    caller: Option<&CurrentUser>,
    id: &ProductId,
) -> AppResult<(Product, Household)> {
    let product = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("product"))?;
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
    let product = repo::find_for_update(conn, id)?.ok_or_else(|| AppError::not_found("product"))?;
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
    household_id: &str,
    origin: Option<(&str, Option<&str>)>,
    input: ProductInput<'_>,
) -> AppResult<Product> {
    if caller.role == Role::Buyer {
        return Err(AppError::forbidden("only farmers list products"));
    }
    let Some(household_id) = HouseholdId::parse(household_id) else {
        return Err(AppError::invalid_field(
            "household_id",
            "must be a household id",
        ));
    };
    let mut problems = Problems::new();
    let product = ProductDraft::parse(
        &mut problems,
        input,
        &[ProductStatus::Active, ProductStatus::Paused],
    );
    let origin = origin.and_then(|(code, map)| {
        ctx.map
            .province(&mut problems, PlaceFields::ORIGIN, code, map)
    });
    let timezone = ctx.timezone;
    let admin_map = ctx.map.clone();
    let product = ctx
        .db
        .write(move |conn| {
            let household = visible_household(conn, Some(&caller), &household_id)?;
            if !can_manage(&caller, &household) {
                return Err(AppError::forbidden(
                    "only the household's owner or an admin lists its products",
                ));
            }
            if household.status != HouseholdStatus::Active {
                problems.add("household_id", "the household is suspended");
            }
            problems.finish()?;
            let origin = origin.unwrap_or_else(|| household_origin(&household));
            let names = admin_map.search_names(&origin.code, origin.map);
            let row = product.into_row(
                ProductId::generate(),
                household.id,
                origin,
                &names,
                now_utc(),
            );
            repo::insert(conn, &row)?;
            let mut rollups = StatsBatch::new(timezone);
            rollups.product_listed(row.listed());
            rollups.write_at_commit(conn)?;
            Ok(row)
        })
        .await?;
    ctx.catalogue_caught_up().await;
    Ok(product)
}

/// `asker`: the client's address, whose large searches take turns with other clients'.
pub async fn list(
    ctx: &Context,
    caller: Option<CurrentUser>,
    search: &ProductSearch,
    asker: Option<IpAddr>,
) -> AppResult<ProductList> {
    let mut problems = Problems::new();
    let paging = Paging::parse(search.page, search.per_page, &mut problems.0);
    let has_words = search.q.as_deref().is_some_and(|q| !q.trim().is_empty());
    let sort = match search.sort.as_deref() {
        None if has_words => Sort::Relevance,
        None | Some("newest") => Sort::Newest,
        Some("relevance") => Sort::Relevance,
        Some("price_asc") => Sort::PriceAsc,
        Some("price_desc") => Sort::PriceDesc,
        Some("popular") => Sort::Popular,
        Some(_) => {
            problems.add(
                "sort",
                "must be one of relevance, newest, price_asc, price_desc, popular",
            );
            Sort::Newest
        }
    };
    let facets = search
        .facets
        .as_deref()
        .map(|list| problems.check(parse_facets(list)).unwrap_or_default())
        .unwrap_or_default();
    let category = search
        .category
        .as_deref()
        .and_then(|c| problems.check(one_of("category", c, &CATEGORIES)));
    let certification = search
        .certification
        .as_deref()
        .and_then(|c| problems.check(one_of("certification", c, &CERTIFICATIONS)));
    let map = crate::provinces::query_map(&mut problems, search.map.as_deref());
    if let Some(code) = search.province_code.as_deref()
        && !crate::provinces::looks_like_code(code)
    {
        problems.add("province_code", "must be a two-digit province code");
    }
    let household_id = search.household_id.as_deref().and_then(|id| {
        let parsed = HouseholdId::parse(id);
        if parsed.is_none() {
            problems.add("household_id", "must be a household id");
        }
        parsed
    });
    for (field, value) in [
        ("min_price_vnd", search.min_price_vnd),
        ("max_price_vnd", search.max_price_vnd),
    ] {
        if let Some(value) = value {
            problems.check(in_range(field, value, 0, MAX_VND));
        }
    }
    if let (Some(min), Some(max)) = (search.min_price_vnd, search.max_price_vnd)
        && min > max
    {
        problems.add("max_price_vnd", "must not be below min_price_vnd");
    }
    let status = search
        .status
        .as_deref()
        .and_then(|s| problems.check(ProductStatus::parse_field("status", s)));
    let words = problems.check(optional_query_words(search.q.as_deref()));
    problems.finish()?;

    let filter = ProductFilter {
        words: words.unwrap_or_default(),
        category,
        origin: search.province_code.clone().map(|code| (code, map)),
        household_id,
        certification,
        min_price_vnd: search.min_price_vnd,
        max_price_vnd: search.max_price_vnd,
        in_stock: search.in_stock.unwrap_or(false),
        status,
    };
    if let (None, Some(catalogue)) = (&filter.status, &ctx.catalogue) {
        // The index ranks every match up to the page: a page deep in the results costs memory
        // in proportion to its depth, so the public search stops where search engines do.
        if paging.offset() + paging.per_page > SEARCH_DEPTH_MAX {
            return Err(AppError::invalid_field(
                "page",
                format!(
                    "the catalogue shows its first {SEARCH_DEPTH_MAX} matches: narrow the search"
                ),
            ));
        }
        let query = catalogue_query(search, &filter, map, sort, paging, facets);
        return from_catalogue(catalogue.clone(), query, paging, asker).await;
    }
    if !facets.is_empty() {
        return Err(AppError::invalid_field(
            "facets",
            "facets count the public catalogue: not with status",
        ));
    }
    let (rows, total) = ctx
        .db
        .run(move |conn| {
            if filter.status.is_some() {
                authorize_status_filter(conn, caller.as_ref(), household_id.as_ref())?;
            }
            Ok(repo::list(conn, &filter, sort, paging)?)
        })
        .await?;
    Ok(ProductList {
        page: Page::new(rows, paging, total),
        facets: None,
    })
}

/// Product names that begin with what the buyer has typed.
pub async fn suggest(ctx: &Context, typed: &str) -> AppResult<Vec<String>> {
    if typed.chars().nth(crate::search::QUERY_MAX_CHARS).is_some() {
        return Err(AppError::invalid_field(
            "q",
            format!(
                "must be at most {} characters",
                crate::search::QUERY_MAX_CHARS
            ),
        ));
    }
    let Some(catalogue) = ctx.catalogue.clone() else {
        return Ok(Vec::new());
    };
    // Answered in place when the index's names are in memory (microseconds); read first, on a
    // thread that may block, after the index changed.
    if let Some(names) = catalogue.suggest_ready(typed) {
        return Ok(names);
    }
    let typed = typed.to_owned();
    tokio::task::spawn_blocking(move || catalogue.suggest(&typed))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)
}

/// How deep into its matches the public catalogue pages.
pub const SEARCH_DEPTH_MAX: i64 = 10_000;

/// One page of products and, when asked for, the counts per facet value.
pub struct ProductList {
    pub page: Page<Product>,
    pub facets: Option<BTreeMap<&'static str, Vec<FacetCount>>>,
}

fn parse_facets(list: &str) -> Result<Vec<Facet>, crate::error::FieldError> {
    let mut facets = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(facet) = Facet::ALL.into_iter().find(|f| f.name() == name) else {
            return Err(crate::error::FieldError::new(
                "facets",
                "must list some of category, province_code, certification, price",
            ));
        };
        if !facets.contains(&facet) {
            facets.push(facet);
        }
    }
    Ok(facets)
}

/// The public listing's search as the index runs it; `map` is the one the caller named (the
/// province facet counts on it even without a province filter).
fn catalogue_query(
    search: &ProductSearch,
    filter: &ProductFilter,
    map: ProvinceMap,
    sort: Sort,
    paging: Paging,
    facets: Vec<Facet>,
) -> CatalogueQuery {
    CatalogueQuery {
        text: search.q.clone().unwrap_or_default(),
        category: filter.category.clone(),
        origin: filter.origin.as_ref().map(|(code, _)| code.clone()),
        map,
        household_id: filter.household_id.as_ref().map(HouseholdId::to_db),
        certification: filter.certification.clone(),
        min_price_vnd: filter.min_price_vnd,
        max_price_vnd: filter.max_price_vnd,
        in_stock: filter.in_stock,
        sort,
        offset: paging.offset() as usize,
        limit: paging.per_page as usize,
        facets,
    }
}

/// The page the index answers, with the rows it keeps (as of the last change it followed: at
/// most `catalogue.follow_interval` behind the database, which product pages and orders read).
async fn from_catalogue(
    catalogue: Arc<Catalogue>,
    query: CatalogueQuery,
    paging: Paging,
    asker: Option<IpAddr>,
) -> AppResult<ProductList> {
    let answer = catalogue
        .answer(query, asker)
        .await
        .map_err(AppError::Internal)?;
    let rows = answer
        .hits
        .iter()
        .map(|hit| postcard::from_bytes::<Product>(&hit.row))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(ProductList {
        page: Page::new(rows, paging, answer.total as i64),
        facets: (!answer.facets.is_empty()).then_some(answer.facets),
    })
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
        Some(id) => {
            crate::households::repo::find(conn, id)?.is_some_and(|h| can_manage(caller, &h))
        }
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
    client: Option<IpAddr>,
) -> AppResult<Product> {
    let id = from_path(id, ProductId::parse, "product")?;
    let (mut product, _) = ctx
        .db
        .run(move |conn| visible_product(conn, caller.as_ref(), &id))
        .await?;
    let id = product.id.to_db();
    views.record(&id, ctx.today(), client);
    // Views are written in batches; show this process's not-yet-written ones too.
    product.views += views.pending(&id);
    Ok(product)
}

pub async fn update(
    ctx: &Context,
    caller: CurrentUser,
    id: &str,
    edit: ProductEdit<'_>,
) -> AppResult<Product> {
    let id = from_path(id, ProductId::parse, "product")?;
    let mut problems = Problems::new();
    let mut patch = edit.patch(&mut problems);
    let origin = edit.origin_province_code.and_then(|code| {
        ctx.map
            .province(&mut problems, PlaceFields::ORIGIN, code, edit.origin_map)
    });
    if origin.is_none() && edit.origin_province_code.is_none() && edit.origin_map.is_some() {
        problems.add("origin_map", "give origin_province_code with it");
    }
    // With stock_quantity too it is already a problem.
    let stock_adjustment = edit
        .stock_adjustment
        .filter(|_| edit.stock_quantity.is_none());
    let timezone = ctx.timezone;
    let admin_map = ctx.map.clone();
    let updated = ctx
        .db
        .write(move |conn| {
            let (product, _) = manageable_product(conn, &caller, &id)?;
            // From the stock as it is now, the row locked: orders taken meanwhile stay taken.
            if let Some(adjustment) = stock_adjustment {
                patch.stock_quantity =
                    problems.check(adjusted_stock(product.stock_quantity, adjustment));
            }
            let new_origin = origin.is_some();
            if let Some(origin) = origin {
                patch.origin_province_code = Some(origin.code);
                patch.origin_map = Some(origin.map);
                patch.origin_current_code = Some(Some(origin.current_code));
            }
            let whole = ProductDraft::after(&product, &patch);
            whole.check_whole(&mut problems);
            problems.finish()?;
            if patch.name.is_some() || patch.description.is_some() || new_origin {
                let code = patch
                    .origin_province_code
                    .as_deref()
                    .unwrap_or(&product.origin_province_code);
                let map = patch.origin_map.unwrap_or(product.origin_map);
                patch.search_text = Some(with_origin(
                    whole.search_text,
                    &admin_map.search_names(code, map),
                ));
            }
            patch.updated_at = Some(now_utc());
            repo::update(conn, &product.id, &patch)?;
            if let Some(status) = patch.status {
                let mut rollups = StatsBatch::new(timezone);
                rollups.product_status_changed(product.status_changed(status));
                rollups.write_at_commit(conn)?;
            }
            let updated =
                repo::find(conn, &product.id)?.ok_or_else(|| AppError::not_found("product"))?;
            Ok(updated)
        })
        .await?;
    ctx.catalogue_caught_up().await;
    Ok(updated)
}

/// Archives a product: it leaves the listings and cannot be ordered; old orders keep it.
pub async fn archive(ctx: &Context, caller: CurrentUser, id: &str) -> AppResult<()> {
    let id = from_path(id, ProductId::parse, "product")?;
    let timezone = ctx.timezone;
    ctx.db
        .write(move |conn| {
            let (product, _) = manageable_product(conn, &caller, &id)?;
            if product.status != ProductStatus::Archived {
                repo::set_status(conn, &product.id, ProductStatus::Archived, now_utc())?;
                let mut rollups = StatsBatch::new(timezone);
                rollups.product_status_changed(product.status_changed(ProductStatus::Archived));
                rollups.write_at_commit(conn)?;
            }
            Ok(())
        })
        .await?;
    ctx.catalogue_caught_up().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;
    use crate::db::run_migrations;

    /// Products written before the current map came get their origin's names on both maps.
    #[test]
    fn refreshing_search_texts_adds_the_origins_names_on_both_maps() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        run_migrations(&mut conn).unwrap();
        let (household, product) = (HouseholdId::generate(), ProductId::generate());
        conn.batch_execute(&format!(
            "INSERT INTO households (id, name, province_code, status, search_text, joined_at, \
             created_at, updated_at) \
             VALUES ('{household}', 'Hộ 1', '24', 'active', 'ho 1', '2021-01-01', '2021-01-01', '2021-01-01'); \
             INSERT INTO products (id, household_id, name, category, unit, unit_weight_grams, \
             price_vnd, stock_quantity, origin_province_code, certifications, status, views, \
             search_text, created_at, updated_at) \
             VALUES ('{product}', '{household}', 'Vải thiều', 'fruit', 'kg', 1000, 30000, 5, '24', \
             '', 'active', 0, 'vai thieu', '2021-01-01 00:00:00', '2021-01-01 00:00:00')"
        ))
        .unwrap();
        // The migration leaves the work to the server, which does it until it is complete.
        assert_eq!(
            crate::db::pending_work(&mut conn).unwrap(),
            ["product_search_texts"]
        );
        let map = crate::provinces::repo::load(&mut conn).unwrap();
        assert_eq!(refresh_search_texts(&mut conn, &map).unwrap(), 1);
        let product = repo::find(&mut conn, &product).unwrap().unwrap();
        assert_eq!(product.search_text, "vai thieu bac giang bac ninh");
    }
}
