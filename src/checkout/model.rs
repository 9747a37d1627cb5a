//! A cart as a buyer gives it, what a quote answers, and a checkout's payment.

use rand::Rng;
use serde::Serialize;

use crate::db::text::text_enum;
use crate::ids::HouseholdId;
use crate::orders::model::{OrderStatus, PaymentStatus};
use crate::orders::repo::Order;
use crate::shipping::Zone;

/// What a checkout's buyer pays (goods and shipping) for its orders that were not cancelled
/// before they were paid: while unpaid, what a transfer must bring.
pub fn amount_due<'a>(orders: impl IntoIterator<Item = &'a Order>) -> i64 {
    price_of(orders, |o| !cancelled(o) || paid(o))
}

/// What its buyer is owed back: the price of its orders cancelled after they were paid.
pub fn refunds_owed<'a>(orders: impl IntoIterator<Item = &'a Order>) -> i64 {
    price_of(orders, |o| cancelled(o) && paid(o))
}

fn cancelled(order: &Order) -> bool {
    order.status == OrderStatus::Cancelled
}

fn paid(order: &Order) -> bool {
    order.payment_status == PaymentStatus::Paid
}

/// Goods and shipping of the orders `counted` keeps.
fn price_of<'a>(
    orders: impl IntoIterator<Item = &'a Order>,
    counted: impl Fn(&Order) -> bool,
) -> i64 {
    orders
        .into_iter()
        .filter(|o| counted(o))
        .map(|o| o.total_vnd.saturating_add(o.shipping_vnd))
        .fold(0, i64::saturating_add)
}

/// At most this many households in one cart.
pub const MAX_CART_HOUSEHOLDS: usize = 20;

text_enum! {
    /// Whether a checkout's money has arrived: bank transfers become `paid` when the bank tells
    /// us, or `expired` (their orders cancelled) when it did not in time. Cash on delivery stays
    /// `unpaid` here; each of its orders is paid when delivered.
    pub enum CheckoutPayment {
        Unpaid = "unpaid",
        Paid = "paid",
        Expired = "expired",
    }
}

/// The letters of a checkout code: Crockford's base 32 (no I, L, O or U), easy to read out and
/// to type into a bank app's content field.
const CODE_LETTERS: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_PREFIX: &str = "NS";
const CODE_RANDOM_CHARS: usize = 10;

/// A fresh checkout code: `NS` and ten random letters or digits (50 bits).
pub fn new_code() -> String {
    let mut rng = rand::thread_rng();
    let mut code = String::from(CODE_PREFIX);
    for _ in 0..CODE_RANDOM_CHARS {
        code.push(CODE_LETTERS[rng.gen_range(0..CODE_LETTERS.len())] as char);
    }
    code
}

/// The checkout code a bank transfer's content carries, however the bank spaced, cased or
/// surrounded it (`ck ns7k2m...`, `NS7K2M...-Nguyen Van A`): the first `NS` followed by ten code
/// letters that is not inside a longer word of letters and digits.
pub fn code_in(description: &str) -> Option<String> {
    let text: Vec<u8> = description.to_ascii_uppercase().into_bytes();
    let length = CODE_PREFIX.len() + CODE_RANDOM_CHARS;
    (0..text.len().saturating_sub(length - 1)).find_map(|start| {
        let candidate = &text[start..start + length];
        let bounded = start == 0 || !text[start - 1].is_ascii_alphanumeric();
        let ends = text
            .get(start + length)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        (bounded
            && ends
            && candidate.starts_with(CODE_PREFIX.as_bytes())
            && candidate[CODE_PREFIX.len()..]
                .iter()
                .all(|b| CODE_LETTERS.contains(b)))
        .then(|| String::from_utf8_lossy(candidate).into_owned())
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_however_the_bank_writes_them() {
        let code = new_code();
        assert_eq!(code.len(), 12);
        assert_eq!(code_in(&code).as_deref(), Some(code.as_str()));
        let lower = format!("ck {} thanh toan", code.to_lowercase());
        assert_eq!(code_in(&lower).as_deref(), Some(code.as_str()));
        let glued = format!("MBVCB.123.{code}-NGUYEN VAN A");
        assert_eq!(code_in(&glued).as_deref(), Some(code.as_str()));
        assert_eq!(code_in(&format!("X{code}")), None);
        assert_eq!(code_in(&format!("{code}9")), None);
        assert_eq!(code_in("NSIIIIIIIIII"), None);
        assert_eq!(code_in("chuyen tien"), None);
        assert_eq!(code_in(""), None);
    }
}
