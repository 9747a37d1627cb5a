//! Product types: categories, certifications, statuses, the inputs a farmer or a file gives, the
//! validated draft and each field's rule.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::repo::{Product, ProductPatch};
use crate::db::text::text_enum;
use crate::error::FieldError;
use crate::ids::{HouseholdId, ProductId};
use crate::provinces::MappedProvince;
use crate::search::{fold, search_text};
use crate::validate::{self, MAX_VND, Problems, in_range, one_of, optional_date};

pub const CATEGORIES: [&str; 8] = [
    "fruit",
    "vegetable",
    "rice_grain",
    "tea_coffee",
    "seafood",
    "livestock",
    "processed",
    "other",
];

/// In canonical order: stored and shown in this order whatever order they were sent in.
pub const CERTIFICATIONS: [&str; 4] = ["VietGAP", "GlobalGAP", "organic", "OCOP"];

text_enum! {
    /// Active products are listed and can be ordered; paused ones are hidden for a while;
    /// archived ones are gone for good (old orders keep them).
    pub enum ProductStatus {
        Active = "active",
        Paused = "paused",
        Archived = "archived",
    }
}

/// Bounds that keep order arithmetic far from overflow while allowing any real produce.
pub const MAX_UNIT_WEIGHT_GRAMS: i64 = 1_000_000_000;
pub const MAX_STOCK_QUANTITY: i64 = 1_000_000_000;
pub const UNIT_MAX_CHARS: usize = 50;

/// `,VietGAP,OCOP,` for a set in canonical order: a member is found with one LIKE `%,X,%`.
pub fn encode_certifications(set: &[&str]) -> String {
    let members: Vec<&str> = CERTIFICATIONS
        .iter()
        .copied()
        .filter(|c| set.contains(c))
        .collect();
    if members.is_empty() {
        String::new()
    } else {
        format!(",{},", members.join(","))
    }
}

pub fn decode_certifications(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `#[serde(with = …)]` for the stored certification set: a list in JSON.
pub mod certification_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(stored: &str, serializer: S) -> Result<S::Ok, S::Error> {
        super::decode_certifications(stored).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let list = Vec::<String>::deserialize(deserializer)?;
        let names: Vec<&str> = list.iter().map(String::as_str).collect();
        Ok(super::encode_certifications(&names))
    }
}

/// A product's fields as a farmer (`POST /products`) or a file (an import) gives them.
pub struct ProductInput<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub category: &'a str,
    pub unit: &'a str,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    pub stock_quantity: i64,
    pub certifications: &'a [String],
    pub ocop_stars: Option<i64>,
    pub harvest_from: Option<&'a str>,
    pub harvest_to: Option<&'a str>,
    /// `active` when not given.
    pub status: Option<&'a str>,
}

/// A change of a product as given (`PATCH /products/{id}`): `None` leaves a field as it is,
/// `Some(None)` clears an optional one; `stock_quantity` sets the count.
#[derive(Debug, Default)]
pub struct ProductEdit<'a> {
    pub name: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub category: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub unit_weight_grams: Option<i64>,
    pub price_vnd: Option<i64>,
    pub stock_quantity: Option<i64>,
    /// Added to the stock as it is when the change is applied (negative: taken off).
    pub stock_adjustment: Option<i64>,
    pub origin_province_code: Option<&'a str>,
    pub origin_map: Option<&'a str>,
    pub certifications: Option<&'a [String]>,
    pub ocop_stars: Option<Option<i64>>,
    pub harvest_from: Option<Option<&'a str>>,
    pub harvest_to: Option<Option<&'a str>>,
    pub status: Option<&'a str>,
}

impl ProductEdit<'_> {
    /// The columns this edit changes, each checked by the rule a new product follows. The
    /// origin province (it needs the database) and the rules across fields (they need the
    /// product as it is) are the caller's.
    pub fn patch(&self, problems: &mut Problems) -> ProductPatch {
        // An adjustment is checked against the stock it adjusts (see `adjusted_stock`).
        if self.stock_adjustment.is_some() && self.stock_quantity.is_some() {
            problems.add(
                "stock_adjustment",
                "give stock_quantity or stock_adjustment, not both",
            );
        }
        ProductPatch {
            name: self.name.and_then(|v| problems.check(fields::name(v))),
            description: self
                .description
                .and_then(|v| problems.check(fields::description(v))),
            category: self
                .category
                .and_then(|v| problems.check(fields::category(v))),
            unit: self.unit.and_then(|v| problems.check(fields::unit(v))),
            unit_weight_grams: self
                .unit_weight_grams
                .and_then(|v| problems.check(fields::unit_weight_grams(v))),
            price_vnd: self
                .price_vnd
                .and_then(|v| problems.check(fields::price_vnd(v))),
            stock_quantity: self
                .stock_quantity
                .and_then(|v| problems.check(fields::stock_quantity(v))),
            certifications: self
                .certifications
                .map(|list| certifications(problems, list)),
            ocop_stars: self.ocop_stars.and_then(|v| problems.check(ocop_stars(v))),
            harvest_from: self
                .harvest_from
                .and_then(|v| problems.check(fields::harvest_from(v))),
            harvest_to: self
                .harvest_to
                .and_then(|v| problems.check(fields::harvest_to(v))),
            status: self
                .status
                .and_then(|v| problems.check(fields::status(v, ProductStatus::ALL))),
            ..ProductPatch::default()
        }
    }
}

/// The stock `adjustment` leaves of `stock` (the product's as the change is applied), if the
/// stock rule allows it.
pub fn adjusted_stock(stock: i64, adjustment: i64) -> Result<i64, FieldError> {
    stock
        .checked_add(adjustment)
        .and_then(|after| fields::stock_quantity(after).ok())
        .ok_or_else(|| {
            FieldError::new(
                "stock_adjustment",
                format!(
                    "would leave {stock} + ({adjustment}) in stock; it must stay between 0 and {MAX_STOCK_QUANTITY}"
                ),
            )
        })
}

/// What the catalogue is narrowed to and how it is sorted, as the caller gives it in the query
/// string. (Serialize: the catalogue cache keys on it.)
#[derive(Debug, Default, Serialize, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductSearch {
    /// Words that must all occur in the name or description, whatever the case and diacritics (at most 10 words, 200 characters).
    pub q: Option<String>,
    /// One of the categories (`fruit`, `vegetable`, …).
    pub category: Option<String>,
    /// Origin province: a two-digit province code.
    pub province_code: Option<String>,
    /// The map of `province_code`: `current` (default: products lying in that current province)
    /// or `2008` (products whose origin was given as that 2008 province).
    pub map: Option<String>,
    /// Only this household's.
    pub household_id: Option<String>,
    /// Only products with this certification (`VietGAP`, `GlobalGAP`, `organic`, `OCOP`).
    pub certification: Option<String>,
    /// Lowest unit price, đồng.
    pub min_price_vnd: Option<i64>,
    /// Highest unit price, đồng.
    pub max_price_vnd: Option<i64>,
    /// Only products with stock left.
    pub in_stock: Option<bool>,
    /// `relevance` (the default with `q`: in stock first, then how well the words match),
    /// `newest` (the default without `q`), `price_asc`, `price_desc` or `popular`.
    pub sort: Option<String>,
    /// Counts to draw filter menus from, each with the other filters applied: a comma-separated
    /// list of `category`, `province_code`, `certification`, `price` (buckets in đồng).
    pub facets: Option<String>,
    /// Owners (with `household_id`) and admins: list products of this status instead of the public listing.
    pub status: Option<String>,
    /// Page number, from 1 (the public listing: `page` × `per_page` at most 10,000).
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<i64>,
}

/// Each field's rule, for listing and for changing a product alike.
mod fields {
    use super::*;

    pub use crate::validate::{description, name};

    pub fn category(value: &str) -> Result<String, FieldError> {
        one_of("category", value, &CATEGORIES)
    }

    pub fn unit(value: &str) -> Result<String, FieldError> {
        validate::required_text("unit", value, UNIT_MAX_CHARS)
    }

    pub fn unit_weight_grams(value: i64) -> Result<i64, FieldError> {
        in_range("unit_weight_grams", value, 1, MAX_UNIT_WEIGHT_GRAMS)
    }

    pub fn price_vnd(value: i64) -> Result<i64, FieldError> {
        in_range("price_vnd", value, 1, MAX_VND)
    }

    pub fn stock_quantity(value: i64) -> Result<i64, FieldError> {
        in_range("stock_quantity", value, 0, MAX_STOCK_QUANTITY)
    }

    pub fn harvest_from(value: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
        optional_date("harvest_from", value)
    }

    pub fn harvest_to(value: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
        optional_date("harvest_to", value)
    }

    /// One of `allowed` (a farmer lists a product active or paused; history may be archived).
    pub fn status(value: &str, allowed: &[ProductStatus]) -> Result<ProductStatus, FieldError> {
        ProductStatus::parse(value)
            .filter(|status| allowed.contains(status))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                FieldError::new("status", format!("must be one of {}", names.join(", ")))
            })
    }
}

/// A product's own fields, validated, with the rules across them; what listing one stores,
/// and a product's state after a PATCH. The origin province is not here: it is checked
/// against the provinces by whoever has them.
#[derive(Debug)]
pub struct ProductDraft {
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    pub stock_quantity: i64,
    pub certifications: String,
    pub ocop_stars: Option<i32>,
    pub harvest_from: Option<NaiveDate>,
    pub harvest_to: Option<NaiveDate>,
    pub status: ProductStatus,
    /// The folded name and description that search reads.
    pub search_text: String,
}

impl ProductDraft {
    /// Checks every field and the rules across them, recording every problem in `problems`
    /// (the draft then holds placeholders and must not be stored). `statuses`: which a new
    /// product may start in (a farmer: active or paused; history: any).
    pub fn parse(
        problems: &mut Problems,
        input: ProductInput<'_>,
        statuses: &[ProductStatus],
    ) -> Self {
        let name = problems.check(fields::name(input.name)).unwrap_or_default();
        let description = problems
            .check(fields::description(input.description))
            .flatten();
        let draft = ProductDraft {
            search_text: search_text(&name, description.as_deref()),
            name,
            description,
            category: problems
                .check(fields::category(input.category))
                .unwrap_or_default(),
            unit: problems.check(fields::unit(input.unit)).unwrap_or_default(),
            unit_weight_grams: problems
                .check(fields::unit_weight_grams(input.unit_weight_grams))
                .unwrap_or(1),
            price_vnd: problems
                .check(fields::price_vnd(input.price_vnd))
                .unwrap_or(1),
            stock_quantity: problems
                .check(fields::stock_quantity(input.stock_quantity))
                .unwrap_or(0),
            certifications: certifications(problems, input.certifications),
            ocop_stars: problems.check(ocop_stars(input.ocop_stars)).flatten(),
            harvest_from: problems
                .check(fields::harvest_from(input.harvest_from))
                .flatten(),
            harvest_to: problems
                .check(fields::harvest_to(input.harvest_to))
                .flatten(),
            status: input.status.map_or(ProductStatus::Active, |given| {
                problems
                    .check(fields::status(given, statuses))
                    .unwrap_or(ProductStatus::Active)
            }),
        };
        draft.check_whole(problems);
        draft
    }

    /// The rules across fields.
    pub fn check_whole(&self, problems: &mut Problems) {
        if self.ocop_stars.is_some() && !self.certifications.contains(",OCOP,") {
            problems.add("ocop_stars", "OCOP stars need the OCOP certification");
        }
        if let (Some(from), Some(to)) = (self.harvest_from, self.harvest_to)
            && from > to
        {
            problems.add("harvest_to", "must not be before harvest_from");
        }
    }

    /// A product's state once `patch` is applied (for the rules across fields and the search text).
    pub fn after(product: &Product, patch: &ProductPatch) -> ProductDraft {
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

    /// The row of a new product listed at `at`.
    pub fn into_row(
        self,
        id: ProductId,
        household_id: HouseholdId,
        origin: MappedProvince,
        origin_names: &[&str],
        at: NaiveDateTime,
    ) -> Product {
        Product {
            id,
            household_id,
            name: self.name,
            description: self.description,
            category: self.category,
            unit: self.unit,
            unit_weight_grams: self.unit_weight_grams,
            price_vnd: self.price_vnd,
            stock_quantity: self.stock_quantity,
            origin_province_code: origin.code,
            origin_map: origin.map,
            origin_current_code: Some(origin.current_code),
            certifications: self.certifications,
            ocop_stars: self.ocop_stars,
            harvest_from: self.harvest_from,
            harvest_to: self.harvest_to,
            status: self.status,
            views: 0,
            search_text: with_origin(self.search_text, origin_names),
            created_at: at,
            updated_at: at,
        }
    }
}

/// The text search reads for a product: its folded name and description, then its origin's
/// names (so `bắc giang` finds Bắc Giang produce, and `bắc ninh` too, its current province).
pub fn with_origin(name_and_description: String, origin_names: &[&str]) -> String {
    if origin_names.is_empty() {
        return name_and_description;
    }
    format!("{name_and_description} {}", fold(&origin_names.join(" ")))
}

/// A set of certifications, each checked, in canonical order.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certification_sets_round_trip_in_canonical_order() {
        let stored = encode_certifications(&["OCOP", "VietGAP", "OCOP"]);
        assert_eq!(stored, ",VietGAP,OCOP,");
        assert_eq!(decode_certifications(&stored), vec!["VietGAP", "OCOP"]);
        assert_eq!(encode_certifications(&[]), "");
        assert!(decode_certifications("").is_empty());
    }
}
