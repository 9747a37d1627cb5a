//! Household types as the API shows them.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::repo::Household;
use crate::search::search_text;
use crate::validate::{self, ADDRESS_MAX_CHARS, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, Problems};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_SUSPENDED: &str = "suspended";

/// A household's fields as a farmer (`POST /households`) or a file (an import) gives them.
pub struct HouseholdInput<'a> {
    pub name: &'a str,
    pub province_code: &'a str,
    pub district: Option<&'a str>,
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub description: Option<&'a str>,
}

/// A household's own fields, validated: what registering one stores. Whether the province
/// exists is checked against the provinces by whoever has them.
#[derive(Debug)]
pub struct HouseholdDraft {
    pub name: String,
    /// Trimmed.
    pub province_code: String,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
}

impl HouseholdDraft {
    /// Checks every field, recording every problem; `None` when there was one.
    pub fn parse(problems: &mut Problems, input: HouseholdInput<'_>) -> Option<HouseholdDraft> {
        let name = problems.check(validate::required_text("name", input.name, NAME_MAX_CHARS));
        let district = problems.check(validate::optional_text(
            "district",
            input.district,
            NAME_MAX_CHARS,
        ));
        let address = problems.check(validate::optional_text(
            "address",
            input.address,
            ADDRESS_MAX_CHARS,
        ));
        let phone = problems.check(validate::optional_phone("phone", input.phone));
        let description = problems.check(validate::optional_text(
            "description",
            input.description,
            DESCRIPTION_MAX_CHARS,
        ));
        Some(HouseholdDraft {
            name: name?,
            province_code: input.province_code.trim().to_owned(),
            district: district?,
            address: address?,
            phone: phone?,
            description: description?,
        })
    }

    /// The row of a household that joined at `joined_at`.
    pub fn into_row(
        self,
        id: String,
        owner_id: Option<String>,
        status: &str,
        joined_at: NaiveDateTime,
    ) -> Household {
        Household {
            id,
            owner_id,
            search_text: search_text(&self.name, self.description.as_deref()),
            name: self.name,
            province_code: self.province_code,
            district: self.district,
            address: self.address,
            phone: self.phone,
            description: self.description,
            status: status.to_owned(),
            joined_at,
            created_at: joined_at,
            updated_at: joined_at,
        }
    }
}

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
