//! The records of an import file, one JSON object per line, told apart by `kind`.

use serde::{Deserialize, Serialize};

use crate::households::model::HouseholdInput;
use crate::orders::model::{LineInput, OrderInput, ShippingInput};
use crate::products::model::ProductInput;
use crate::provinces::PlaceInput;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImportRecord {
    Household(HouseholdRecord),
    Product(ProductRecord),
    Order(OrderRecord),
    Views(ViewsRecord),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdRecord {
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: String,
    /// The commune (current map): sets both provinces.
    pub commune_code: Option<String>,
    /// Without a commune: the province, on the 2008 map unless `province_map` says `current`.
    pub province_code: Option<String>,
    #[serde(alias = "map")]
    pub province_map: Option<String>,
    /// RFC 3339, any offset; now when left out.
    pub joined_at: Option<String>,
    /// An existing farmer's email; no owner when left out.
    pub owner_email: Option<String>,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    /// `active` (default) or `suspended`.
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRecord {
    #[serde(rename = "ref")]
    pub reference: String,
    /// A household `ref` from the same file or an existing household id.
    pub household: String,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_weight_grams: i64,
    pub price_vnd: i64,
    pub stock_quantity: Option<i64>,
    pub created_at: Option<String>,
    pub origin_province_code: Option<String>,
    /// `2008` (default) or `current`.
    pub origin_map: Option<String>,
    pub certifications: Option<Vec<String>>,
    pub ocop_stars: Option<i64>,
    pub harvest_from: Option<String>,
    pub harvest_to: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItemRecord {
    /// A product `ref` from the same file or an existing product id.
    pub product: String,
    pub quantity: i64,
    /// The product's price when left out.
    pub unit_price_vnd: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedShipping {
    pub recipient_name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub commune_code: Option<String>,
    pub province_code: Option<String>,
    #[serde(alias = "map")]
    pub province_map: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub household: String,
    pub placed_at: String,
    /// `delivered` when left out.
    pub status: Option<String>,
    /// `VN` when left out.
    pub country_code: Option<String>,
    pub items: Vec<OrderItemRecord>,
    pub buyer_email: Option<String>,
    pub payment_method: Option<String>,
    pub shipping: Option<ImportedShipping>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewsRecord {
    /// A product `ref` from the same file or an existing product id.
    pub product: String,
    pub date: String,
    pub count: i64,
}

/// What a successful import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"households": 1, "products": 1, "orders": 1, "views": 1}))]
pub struct ImportSummary {
    pub households: u64,
    pub products: u64,
    pub orders: u64,
    pub views: u64,
}

impl HouseholdRecord {
    pub fn input(&self) -> HouseholdInput<'_> {
        HouseholdInput {
            name: &self.name,
            place: PlaceInput {
                commune_code: self.commune_code.as_deref(),
                province_code: self.province_code.as_deref(),
                province_map: self.province_map.as_deref(),
            },
            district: self.district.as_deref(),
            address: self.address.as_deref(),
            phone: self.phone.as_deref(),
            description: self.description.as_deref(),
        }
    }
}

impl ProductRecord {
    pub fn input(&self) -> ProductInput<'_> {
        ProductInput {
            name: &self.name,
            description: self.description.as_deref(),
            category: &self.category,
            unit: &self.unit,
            unit_weight_grams: self.unit_weight_grams,
            price_vnd: self.price_vnd,
            stock_quantity: self.stock_quantity.unwrap_or(0),
            certifications: self.certifications.as_deref().unwrap_or(&[]),
            ocop_stars: self.ocop_stars,
            harvest_from: self.harvest_from.as_deref(),
            harvest_to: self.harvest_to.as_deref(),
            status: self.status.as_deref(),
        }
    }
}

impl OrderRecord {
    pub fn input(&self) -> OrderInput<'_> {
        let shipping = self.shipping.as_ref();
        let field = |pick: fn(&ImportedShipping) -> &Option<String>| {
            shipping.and_then(|s| pick(s).as_deref())
        };
        OrderInput {
            items: self
                .items
                .iter()
                .map(|item| LineInput {
                    product: &item.product,
                    quantity: item.quantity,
                    unit_price_vnd: item.unit_price_vnd,
                })
                .collect(),
            shipping: ShippingInput {
                recipient_name: field(|s| &s.recipient_name),
                phone: field(|s| &s.phone),
                address: field(|s| &s.address),
                commune_code: field(|s| &s.commune_code),
                province_code: field(|s| &s.province_code),
                province_map: field(|s| &s.province_map),
                country_code: self.country_code.as_deref(),
            },
            payment_method: self.payment_method.as_deref(),
            note: self.note.as_deref(),
        }
    }
}
