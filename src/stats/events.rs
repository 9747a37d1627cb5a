//! What the domains tell the statistics, as plain data: turning their rows into these is theirs.

use chrono::NaiveDateTime;

/// A household came onto the platform.
#[derive(Debug, Clone)]
pub struct HouseholdJoined {
    pub household_id: String,
    pub joined_at: NaiveDateTime,
    /// Whether it counts in the totals (not suspended).
    pub active: bool,
}

/// A household was suspended or reinstated: it leaves or rejoins the totals.
#[derive(Debug, Clone)]
pub struct HouseholdStatusChanged {
    pub household_id: String,
    pub joined_at: NaiveDateTime,
    pub was_active: bool,
    pub is_active: bool,
}

/// A product was listed.
#[derive(Debug, Clone)]
pub struct ProductListed {
    pub product_id: String,
    pub created_at: NaiveDateTime,
    /// Whether it counts in the totals (not archived).
    pub active: bool,
}

/// A product was archived or restored: it leaves or rejoins the totals.
#[derive(Debug, Clone)]
pub struct ProductStatusChanged {
    pub product_id: String,
    pub created_at: NaiveDateTime,
    pub was_active: bool,
    pub is_active: bool,
}

/// An order that counts (placed and not cancelled): told when placed, and told again when
/// cancelled, to stop counting on the day it was placed.
#[derive(Debug, Clone)]
pub struct OrderPlaced {
    pub household_id: String,
    pub placed_at: NaiveDateTime,
    pub country_code: String,
    /// Shipped outside the home country: its weight counts as exported, per destination.
    pub exported: bool,
    pub total_vnd: i64,
    /// The parcel's shipping fee (not part of `total_vnd`).
    pub shipping_vnd: i64,
    pub total_weight_grams: i64,
    pub lines: Vec<OrderLine>,
}

/// One line of an [`OrderPlaced`].
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub product_id: String,
    pub category: String,
    pub quantity: i64,
    pub unit_weight_grams: i64,
    pub line_total_vnd: i64,
}

/// Money the books moved for a household: the commission earned on its delivered order, or a
/// payout of its balance. Counted on the day it was booked.
#[derive(Debug, Clone)]
pub struct MoneyBooked {
    pub household_id: String,
    pub booked_at: NaiveDateTime,
    pub commission_vnd: i64,
    pub payout_vnd: i64,
}
