//! Product types: categories, certifications, statuses and the API view.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::repo::Product;
use crate::error::FieldError;
use crate::search::search_text;
use crate::validate::{
    self, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, Problems, in_range, one_of, optional_date,
};

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

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_PAUSED: &str = "paused";
pub const STATUS_ARCHIVED: &str = "archived";
pub const STATUSES: [&str; 3] = [STATUS_ACTIVE, STATUS_PAUSED, STATUS_ARCHIVED];

/// Largest price of one unit (API money range).
pub const MAX_PRICE_VND: i64 = 1_000_000_000_000_000;
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
    pub status: String,
    /// The folded name and description that search reads.
    pub search_text: String,
}

impl ProductDraft {
    /// Checks every field and the rules across them, recording every problem in `problems`
    /// (the draft then holds placeholders and must not be stored). `statuses`: which a new
    /// product may start in (a farmer: active or paused; history: any).
    pub fn parse(problems: &mut Problems, input: ProductInput<'_>, statuses: &[&str]) -> Self {
        let name = problems
            .check(validate::required_text("name", input.name, NAME_MAX_CHARS))
            .unwrap_or_default();
        let description = problems
            .check(validate::optional_text(
                "description",
                input.description,
                DESCRIPTION_MAX_CHARS,
            ))
            .flatten();
        let draft = ProductDraft {
            search_text: search_text(&name, description.as_deref()),
            name,
            description,
            category: problems
                .check(one_of("category", input.category, &CATEGORIES))
                .unwrap_or_default(),
            unit: problems
                .check(validate::required_text("unit", input.unit, UNIT_MAX_CHARS))
                .unwrap_or_default(),
            unit_weight_grams: problems
                .check(in_range(
                    "unit_weight_grams",
                    input.unit_weight_grams,
                    1,
                    MAX_UNIT_WEIGHT_GRAMS,
                ))
                .unwrap_or(1),
            price_vnd: problems
                .check(in_range("price_vnd", input.price_vnd, 1, MAX_PRICE_VND))
                .unwrap_or(1),
            stock_quantity: problems
                .check(in_range(
                    "stock_quantity",
                    input.stock_quantity,
                    0,
                    MAX_STOCK_QUANTITY,
                ))
                .unwrap_or(0),
            certifications: certifications(problems, input.certifications),
            ocop_stars: problems.check(ocop_stars(input.ocop_stars)).flatten(),
            harvest_from: problems
                .check(optional_date("harvest_from", input.harvest_from))
                .flatten(),
            harvest_to: problems
                .check(optional_date("harvest_to", input.harvest_to))
                .flatten(),
            status: problems
                .check(one_of(
                    "status",
                    input.status.unwrap_or(STATUS_ACTIVE),
                    statuses,
                ))
                .unwrap_or_default(),
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

    /// The row of a new product listed at `at`.
    pub fn into_row(
        self,
        id: String,
        household_id: String,
        origin_province_code: String,
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
            origin_province_code,
            certifications: self.certifications,
            ocop_stars: self.ocop_stars,
            harvest_from: self.harvest_from,
            harvest_to: self.harvest_to,
            status: self.status,
            views: 0,
            search_text: self.search_text,
            created_at: at,
            updated_at: at,
        }
    }
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductView {
    pub id: String,
    pub household_id: String,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    pub stock_quantity: i64,
    pub origin_province_code: String,
    pub certifications: Vec<String>,
    pub ocop_stars: Option<i32>,
    pub harvest_from: Option<NaiveDate>,
    pub harvest_to: Option<NaiveDate>,
    pub status: String,
    pub views: i64,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: NaiveDateTime,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        ProductView {
            certifications: decode_certifications(&p.certifications),
            id: p.id,
            household_id: p.household_id,
            name: p.name,
            description: p.description,
            category: p.category,
            unit: p.unit,
            unit_weight_grams: p.unit_weight_grams,
            price_vnd: p.price_vnd,
            stock_quantity: p.stock_quantity,
            origin_province_code: p.origin_province_code,
            ocop_stars: p.ocop_stars,
            harvest_from: p.harvest_from,
            harvest_to: p.harvest_to,
            status: p.status,
            views: p.views,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
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
