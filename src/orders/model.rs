//! Order types: statuses, the rules an order follows however it comes in, and the validated
//! draft that placing and importing both build and turn into rows.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::repo::{Order, OrderItem};
use crate::db::text::text_enum;
use crate::ids::{HouseholdId, OrderId, UserId};
use crate::products::repo::ProductSnapshot;
use crate::provinces::{AdminMap, MappedProvince, PlaceFields, PlaceInput, ProvinceMap};
use crate::validate::MAX_VND;
use crate::validate::{self, ADDRESS_MAX_CHARS, NAME_MAX_CHARS, Problems};

text_enum! {
    /// Where an order is: placed → confirmed → shipped → delivered, or cancelled before delivery.
    pub enum OrderStatus {
        Placed = "placed",
        Confirmed = "confirmed",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
    }
}

impl OrderStatus {
    /// Whether an order in this status has passed `step` (a cancelled one has passed none).
    pub fn reached(self, step: OrderStatus) -> bool {
        self != OrderStatus::Cancelled && step != OrderStatus::Cancelled && self >= step
    }
}

text_enum! {
    /// How the buyer pays: cash on delivery (the default) or bank transfer.
    pub enum PaymentMethod {
        Cod = "cod",
        BankTransfer = "bank_transfer",
    }
}

text_enum! {
    /// Whether the order's money has arrived (`refunded`: given back after a cancellation).
    pub enum PaymentStatus {
        Unpaid = "unpaid",
        Paid = "paid",
        Refunded = "refunded",
    }
}

impl PaymentStatus {
    /// Cash on delivery is paid when the order is delivered; a transfer is marked paid by whoever
    /// sees the money arrive.
    pub fn on_reaching(status: OrderStatus, method: PaymentMethod) -> PaymentStatus {
        if status == OrderStatus::Delivered && method == PaymentMethod::Cod {
            PaymentStatus::Paid
        } else {
            PaymentStatus::Unpaid
        }
    }
}

pub use crate::admin_map::HOME_COUNTRY;

/// At most this many lines in one order, placed or imported.
pub const MAX_ITEMS_PER_ORDER: usize = 100;
/// At most this many units on one line.
pub const MAX_QUANTITY: i64 = 1_000_000_000;
pub const NOTE_MAX_CHARS: usize = 1000;

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

    /// Where a parcel goes: a commune or a province on its map (an empty province code is none),
    /// and its country (`country_field`), with the province and commune it resolves to.
    pub fn destination(
        problems: &mut Problems,
        map: &AdminMap,
        place: PlaceInput<'_>,
        country_field: &str,
        country: Option<&str>,
    ) -> (Option<MappedProvince>, Option<String>, String) {
        let place = PlaceInput {
            province_code: place.province_code.filter(|c| !c.trim().is_empty()),
            ..place
        };
        let (province, commune_code) = map.shipping_place(problems, PlaceFields::SHIPPING, place);
        (
            province,
            commune_code,
            country_code(problems, country_field, country),
        )
    }

    /// `cod` (when not given) or `bank_transfer`.
    pub fn payment_method(problems: &mut Problems, given: Option<&str>) -> PaymentMethod {
        given.map_or(PaymentMethod::Cod, |given| {
            problems
                .check(PaymentMethod::parse_field("payment_method", given))
                .unwrap_or(PaymentMethod::Cod)
        })
    }
}

/// An order as a buyer (`POST /orders`) or a file (an import) gives it. Serialised for the
/// idempotency check: the same order in other JSON spacing or key order is the same request.
#[derive(Debug, Serialize)]
pub struct OrderInput<'a> {
    pub items: Vec<LineInput<'a>>,
    pub shipping: ShippingInput<'a>,
    pub payment_method: Option<&'a str>,
    pub note: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct LineInput<'a> {
    /// A product id, or (in a file) a product's `ref` in the same file.
    pub product: &'a str,
    pub quantity: i64,
    /// History only: what the line cost then (the product's price when not given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price_vnd: Option<i64>,
}

#[derive(Debug, Default, Serialize)]
pub struct ShippingInput<'a> {
    pub recipient_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commune_code: Option<&'a str>,
    pub province_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province_map: Option<&'a str>,
    pub country_code: Option<&'a str>,
}

/// What a list of orders is narrowed to, as the caller gives it in the query string (checked by
/// the service).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderSearch {
    /// `placed`, `confirmed`, `shipped`, `delivered` or `cancelled`.
    pub status: Option<String>,
    /// Only this household's.
    pub household_id: Option<String>,
    /// First day placed, `YYYY-MM-DD` (Vietnam time).
    pub from: Option<String>,
    /// Last day placed, `YYYY-MM-DD` (Vietnam time).
    pub to: Option<String>,
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<i64>,
}

/// Where an order comes from, which decides what its fields are called and what it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSource {
    /// A buyer's request: lines name a `product_id`; recipient, phone and address are required.
    Buyer,
    /// An imported record: lines name a `product`; shipping may be missing (it is history).
    History,
}

impl OrderSource {
    fn product_field(self) -> &'static str {
        match self {
            OrderSource::Buyer => "product_id",
            OrderSource::History => "product",
        }
    }

    fn country_field(self) -> &'static str {
        match self {
            OrderSource::Buyer => "shipping.country_code",
            OrderSource::History => "country_code",
        }
    }
}

/// One validated line: a product (as the caller resolved it) and how many.
#[derive(Debug, Clone)]
pub struct DraftLine<P> {
    pub product: P,
    pub quantity: i64,
    pub unit_price_vnd: Option<i64>,
}

/// Where a validated order goes.
#[derive(Debug, Clone)]
pub struct ShippingDraft {
    pub recipient_name: String,
    pub phone: String,
    pub address: String,
    /// The province on its map (a commune's is on the current one).
    pub province: Option<MappedProvince>,
    pub commune_code: Option<String>,
    pub country_code: String,
}

/// An order, validated: what placing and importing one both build, through [`OrderDraft::parse`].
/// `P` is a line's product as the caller knows it (an id to take stock of, or a product found).
#[derive(Debug, Clone)]
pub struct OrderDraft<P> {
    pub lines: Vec<DraftLine<P>>,
    pub shipping: ShippingDraft,
    pub payment_method: PaymentMethod,
    pub note: Option<String>,
}

/// An order with its lines, as placed or read.
#[derive(Debug, Clone)]
pub struct OrderWithItems {
    pub order: Order,
    pub items: Vec<OrderItem>,
}

/// Who placed an order, for whom, in which status since when: what the draft leaves to the caller.
#[derive(Debug, Clone)]
pub struct Placement {
    pub id: OrderId,
    pub buyer_id: Option<UserId>,
    pub household_id: HouseholdId,
    pub status: OrderStatus,
    pub placed_at: NaiveDateTime,
    /// Whether placing it took its items' stock (imported history does not).
    pub stock_taken: bool,
}

impl<P> OrderDraft<P> {
    /// Checks every part of `input`, recording every problem. `resolve` finds a line's product or
    /// says why there is none; `key` tells products apart (an order names a product once).
    pub fn parse<K: Eq + std::hash::Hash>(
        problems: &mut Problems,
        input: &OrderInput<'_>,
        source: OrderSource,
        map: &AdminMap,
        mut resolve: impl FnMut(&str) -> Result<P, &'static str>,
        key: impl Fn(&P) -> K,
    ) -> Self {
        let product_field = source.product_field();
        let mut lines = Vec::with_capacity(input.items.len());
        let mut seen = HashMap::new();
        // Past the limit the lines themselves are not worth judging.
        let lines_to_check = if rules::item_count(problems, "items", input.items.len()) {
            input.items.len()
        } else {
            0
        };
        for (i, item) in input.items.iter().enumerate().take(lines_to_check) {
            let quantity =
                rules::quantity(problems, &format!("items[{i}].quantity"), item.quantity);
            let unit_price_vnd = item.unit_price_vnd.and_then(|price| {
                problems.check(validate::in_range(
                    &format!("items[{i}].unit_price_vnd"),
                    price,
                    1,
                    MAX_VND,
                ))
            });
            let product = match resolve(item.product) {
                Ok(product) => product,
                Err(why) => {
                    problems.add(format!("items[{i}].{product_field}"), why);
                    continue;
                }
            };
            let first = *seen.entry(key(&product)).or_insert(i);
            if first != i {
                problems.add(
                    format!("items[{i}].{product_field}"),
                    format!("the same product as items[{first}]; order a product at most once"),
                );
            }
            if let Some(quantity) = quantity {
                lines.push(DraftLine {
                    product,
                    quantity,
                    unit_price_vnd,
                });
            }
        }
        OrderDraft {
            lines,
            shipping: ShippingDraft::parse(problems, &input.shipping, source, map),
            payment_method: rules::payment_method(problems, input.payment_method),
            note: problems
                .check(validate::optional_text("note", input.note, NOTE_MAX_CHARS))
                .flatten(),
        }
    }

    /// The order's row over its lines; `Err` when its totals are too large.
    pub fn into_order(
        self,
        placement: Placement,
        items: &[OrderItem],
    ) -> Result<Order, &'static str> {
        let (total_vnd, total_weight_grams) = order_totals(items)?;
        let Placement {
            id,
            buyer_id,
            household_id,
            status,
            placed_at,
            stock_taken,
        } = placement;
        // History arrives in its last status: each step it passed is dated when it was placed.
        let at = |step: OrderStatus| status.reached(step).then_some(placed_at);
        Ok(Order {
            id,
            buyer_id,
            household_id,
            status,
            total_vnd,
            total_weight_grams,
            recipient_name: self.shipping.recipient_name,
            phone: self.shipping.phone,
            address: self.shipping.address,
            province_code: self.shipping.province.as_ref().map(|p| p.code.clone()),
            province_map: self
                .shipping
                .province
                .as_ref()
                .map_or(ProvinceMap::Former, |p| p.map),
            commune_code: self.shipping.commune_code,
            country_code: self.shipping.country_code,
            payment_method: self.payment_method,
            payment_status: PaymentStatus::on_reaching(status, self.payment_method),
            tracking_code: None,
            note: self.note,
            placed_at,
            confirmed_at: at(OrderStatus::Confirmed),
            shipped_at: at(OrderStatus::Shipped),
            delivered_at: at(OrderStatus::Delivered),
            cancelled_at: (status == OrderStatus::Cancelled).then_some(placed_at),
            cancel_reason: None,
            stock_taken,
            checkout_id: None,
            shipping_vnd: 0,
            shipping_zone: None,
        })
    }
}

impl ShippingDraft {
    fn parse(
        problems: &mut Problems,
        input: &ShippingInput<'_>,
        source: OrderSource,
        map: &AdminMap,
    ) -> Self {
        let required = source == OrderSource::Buyer;
        let mut text = |field: &str, value: Option<&str>, max: usize| {
            let checked = if required {
                validate::required_text(field, value.unwrap_or_default(), max).map(Some)
            } else {
                validate::optional_text(field, value, max)
            };
            problems.check(checked).flatten()
        };
        let recipient_name = text(
            "shipping.recipient_name",
            input.recipient_name,
            NAME_MAX_CHARS,
        )
        .unwrap_or_else(|| IMPORTED_RECIPIENT.to_owned());
        let address =
            text("shipping.address", input.address, ADDRESS_MAX_CHARS).unwrap_or_default();
        let phone = match validate::optional_phone("shipping.phone", input.phone) {
            Ok(Some(phone)) => phone,
            Ok(None) if required => {
                problems.add("shipping.phone", "must not be empty");
                String::new()
            }
            Ok(None) => String::new(),
            Err(problem) => {
                problems.0.push(problem);
                String::new()
            }
        };
        let place = PlaceInput {
            commune_code: input.commune_code,
            province_code: input.province_code,
            province_map: input.province_map,
        };
        let (province, commune_code, country_code) = rules::destination(
            problems,
            map,
            place,
            source.country_field(),
            input.country_code,
        );
        ShippingDraft {
            recipient_name,
            phone,
            address,
            province,
            commune_code,
            country_code,
        }
    }
}

/// The recipient of imported history that names none.
const IMPORTED_RECIPIENT: &str = "(imported)";

impl OrderItem {
    /// Line `index` (from 0) of an order: `quantity` of a product at `unit_price_vnd`; `None`
    /// when the line's total or weight does not fit in 64 bits.
    pub fn of(
        order_id: OrderId,
        index: usize,
        product: &ProductSnapshot,
        quantity: i64,
        unit_price_vnd: i64,
    ) -> Option<OrderItem> {
        product.unit_weight_grams.checked_mul(quantity)?;
        Some(OrderItem {
            order_id,
            line_no: i32::try_from(index + 1).ok()?,
            product_id: product.id,
            product_name: product.name.clone(),
            product_category: product.category.clone(),
            quantity,
            unit_price_vnd,
            unit_weight_grams: product.unit_weight_grams,
            line_total_vnd: unit_price_vnd.checked_mul(quantity)?,
        })
    }
}

/// The heaviest order: a million tonnes, far beyond any real one. Without a bound, one order
/// near 2^63 grams made its day's weight rollups overflow, refusing every later order counted
/// in the same rows.
pub const MAX_ORDER_WEIGHT_GRAMS: i64 = 1_000_000_000_000;

/// An order's total price and weight, exact; or why there is none (past 10^15 đồng, or past
/// [`MAX_ORDER_WEIGHT_GRAMS`]). Placed and imported orders alike.
pub fn order_totals(items: &[OrderItem]) -> Result<(i64, i64), &'static str> {
    const TOO_DEAR: &str = "the order's total is larger than 10^15 đồng";
    const TOO_HEAVY: &str = "the order's total weight is larger than 10^12 grams";
    let mut total_vnd: i64 = 0;
    let mut total_weight: i64 = 0;
    for item in items {
        let line = item.unit_price_vnd.checked_mul(item.quantity);
        total_vnd = line
            .and_then(|l| total_vnd.checked_add(l))
            .ok_or(TOO_DEAR)?;
        let weight = item.unit_weight_grams.checked_mul(item.quantity);
        total_weight = weight
            .and_then(|w| total_weight.checked_add(w))
            .ok_or(TOO_HEAVY)?;
    }
    if total_vnd > MAX_VND {
        return Err(TOO_DEAR);
    }
    if total_weight > MAX_ORDER_WEIGHT_GRAMS {
        return Err(TOO_HEAVY);
    }
    Ok((total_vnd, total_weight))
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn item(price: i64, grams: i64, quantity: i64) -> OrderItem {
        OrderItem {
            order_id: OrderId::generate(),
            line_no: 1,
            product_id: crate::ids::ProductId::generate(),
            product_name: String::new(),
            product_category: String::new(),
            quantity,
            unit_price_vnd: price,
            unit_weight_grams: grams,
            line_total_vnd: price.saturating_mul(quantity),
        }
    }

    proptest! {
        #[test]
        fn totals_are_exact_or_refused_never_wrapped(
            lines in prop::collection::vec((1i64..=1_000_000_000_000_000, 1i64..=1_000_000_000, 1i64..=1_000_000_000), 1..8)
        ) {
            let items: Vec<OrderItem> = lines.iter().map(|(p, g, q)| item(*p, *g, *q)).collect();
            let exact_vnd: i128 = lines.iter().map(|(p, _, q)| i128::from(*p) * i128::from(*q)).sum();
            let exact_grams: i128 = lines.iter().map(|(_, g, q)| i128::from(*g) * i128::from(*q)).sum();
            match order_totals(&items) {
                Ok((vnd, grams)) => {
                    prop_assert_eq!(i128::from(vnd), exact_vnd);
                    prop_assert_eq!(i128::from(grams), exact_grams);
                    prop_assert!(vnd <= MAX_VND);
                    prop_assert!(grams <= MAX_ORDER_WEIGHT_GRAMS);
                }
                Err(_) => {
                    prop_assert!(exact_vnd > i128::from(MAX_VND) || exact_grams > i128::from(MAX_ORDER_WEIGHT_GRAMS));
                }
            }
        }
    }

    #[test]
    fn an_order_reaches_each_step_before_its_status_and_none_when_cancelled() {
        use OrderStatus::*;
        assert!(Delivered.reached(Confirmed) && Delivered.reached(Shipped));
        assert!(Confirmed.reached(Confirmed) && !Confirmed.reached(Shipped));
        assert!(!Placed.reached(Confirmed));
        assert!(!Cancelled.reached(Confirmed) && !Cancelled.reached(Delivered));
    }
}
