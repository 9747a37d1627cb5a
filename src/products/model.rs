//! Product types: categories, certifications, statuses and the API view.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::repo::Product;

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
