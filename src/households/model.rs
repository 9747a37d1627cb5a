//! Household types as the API shows them.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::repo::Household;

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_SUSPENDED: &str = "suspended";

/// `{id, owner_id, name, province_code, district, address, phone, description, status, joined_at, created_at}`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: String,
    pub owner_id: Option<String>,
    pub name: String,
    pub province_code: String,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub status: String,
    #[serde(with = "crate::time::rfc3339")]
    pub joined_at: NaiveDateTime,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
}

impl From<Household> for HouseholdView {
    fn from(h: Household) -> Self {
        HouseholdView {
            id: h.id,
            owner_id: h.owner_id,
            name: h.name,
            province_code: h.province_code,
            district: h.district,
            address: h.address,
            phone: h.phone,
            description: h.description,
            status: h.status,
            joined_at: h.joined_at,
            created_at: h.created_at,
        }
    }
}
