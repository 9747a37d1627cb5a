//! A cart as a buyer gives it, and what a quote answers.

use serde::Serialize;

use crate::ids::HouseholdId;
use crate::shipping::Zone;

/// At most this many households in one cart.
pub const MAX_CART_HOUSEHOLDS: usize = 20;

/// A cart's lines and where it goes, as the buyer gives them (checked by the service).
#[derive(Debug)]
pub struct CartInput<'a> {
    pub items: Vec<(&'a str, i64)>,
    pub commune_code: Option<&'a str>,
    pub province_code: Option<&'a str>,
    pub province_map: Option<&'a str>,
    pub country_code: Option<&'a str>,
}

/// One household's parcel of a cart.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Parcel {
    #[schema(value_type = String)]
    pub household_id: HouseholdId,
    pub weight_grams: i64,
    /// `same_province`, `same_region`, `other_region` or `export_<zone>` (`export_asia`, …).
    #[schema(value_type = String)]
    pub zone: Zone,
    pub goods_vnd: i64,
    pub shipping_vnd: i64,
}

/// What a cart costs: its parcels, in the order their households first appear in the cart.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Quote {
    pub parcels: Vec<Parcel>,
    pub goods_vnd: i64,
    pub shipping_vnd: i64,
    pub total_vnd: i64,
}
