//! Order types as the API shows them.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::repo::{Order, OrderItem};
use crate::validate::Problems;

pub const PLACED: &str = "placed";
pub const CONFIRMED: &str = "confirmed";
pub const SHIPPED: &str = "shipped";
pub const DELIVERED: &str = "delivered";
pub const CANCELLED: &str = "cancelled";
pub const STATUSES: [&str; 5] = [PLACED, CONFIRMED, SHIPPED, DELIVERED, CANCELLED];

pub const COD: &str = "cod";
pub const BANK_TRANSFER: &str = "bank_transfer";
pub const UNPAID: &str = "unpaid";
pub const PAID: &str = "paid";

/// Vietnam: orders shipped anywhere else are export orders.
pub const HOME_COUNTRY: &str = "VN";

/// At most this many lines in one order, placed or imported.
pub const MAX_ITEMS_PER_ORDER: usize = 100;
/// At most this many units on one line.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// The rules an order's parts follow however it comes in (placed by a buyer or imported).
/// Each records a problem under `field` and returns a placeholder when the value is not allowed.
pub mod rules {
    use super::*;

    /// 1 to [`MAX_ITEMS_PER_ORDER`] lines; whether the lines themselves are worth judging.
    pub fn item_count(problems: &mut Problems, field: &str, count: usize) -> bool {
        if (1..=MAX_ITEMS_PER_ORDER).contains(&count) {
            return true;
        }
        problems.add(
            field,
            format!("an order has 1 to {MAX_ITEMS_PER_ORDER} items"),
        );
        false
    }

    /// A line's quantity: 1 to [`MAX_QUANTITY`].
    pub fn quantity(problems: &mut Problems, field: &str, quantity: i64) -> Option<i64> {
        problems.check(crate::validate::in_range(field, quantity, 1, MAX_QUANTITY))
    }

    /// An ISO 3166-1 alpha-2 code, upper case; Vietnam when not given.
    pub fn country_code(problems: &mut Problems, field: &str, given: Option<&str>) -> String {
        let code = given
            .map(|c| c.trim().to_ascii_uppercase())
            .unwrap_or_else(|| HOME_COUNTRY.to_owned());
        if code.len() != 2 || isocountry::CountryCode::for_alpha2(&code).is_err() {
            problems.add(
                field,
                "must be an ISO 3166-1 alpha-2 country code such as VN or JP",
            );
        }
        code
    }

    /// `cod` (when not given) or `bank_transfer`.
    pub fn payment_method(problems: &mut Problems, given: Option<&str>) -> String {
        match given {
            None | Some(COD) => COD.to_owned(),
            Some(BANK_TRANSFER) => BANK_TRANSFER.to_owned(),
            Some(_) => {
                problems.add("payment_method", "must be cod or bank_transfer");
                COD.to_owned()
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderItemView {
    pub product_id: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price_vnd: i64,
    pub unit_weight_grams: i64,
    pub line_total_vnd: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShippingView {
    pub recipient_name: String,
    pub phone: String,
    pub address: String,
    pub province_code: Option<String>,
    pub country_code: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: String,
    pub buyer_id: Option<String>,
    pub household_id: String,
    pub status: String,
    pub items: Vec<OrderItemView>,
    pub total_vnd: i64,
    pub total_weight_grams: i64,
    pub shipping: ShippingView,
    pub payment_method: String,
    pub payment_status: String,
    pub tracking_code: Option<String>,
    pub note: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub placed_at: NaiveDateTime,
    #[serde(with = "crate::time::rfc3339_option")]
    pub confirmed_at: Option<NaiveDateTime>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub shipped_at: Option<NaiveDateTime>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub delivered_at: Option<NaiveDateTime>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: Option<String>,
}

impl OrderView {
    pub fn new(order: Order, items: Vec<OrderItem>) -> Self {
        OrderView {
            items: items
                .into_iter()
                .map(|item| OrderItemView {
                    product_id: item.product_id,
                    product_name: item.product_name,
                    quantity: item.quantity,
                    unit_price_vnd: item.unit_price_vnd,
                    unit_weight_grams: item.unit_weight_grams,
                    line_total_vnd: item.line_total_vnd,
                })
                .collect(),
            shipping: ShippingView {
                recipient_name: order.recipient_name,
                phone: order.phone,
                address: order.address,
                province_code: order.province_code,
                country_code: order.country_code,
            },
            id: order.id,
            buyer_id: order.buyer_id,
            household_id: order.household_id,
            status: order.status,
            total_vnd: order.total_vnd,
            total_weight_grams: order.total_weight_grams,
            payment_method: order.payment_method,
            payment_status: order.payment_status,
            tracking_code: order.tracking_code,
            note: order.note,
            placed_at: order.placed_at,
            confirmed_at: order.confirmed_at,
            shipped_at: order.shipped_at,
            delivered_at: order.delivered_at,
            cancelled_at: order.cancelled_at,
            cancel_reason: order.cancel_reason,
        }
    }
}
