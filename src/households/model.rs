//! Household types: the statuses, a household as a farmer or a file gives it, the validated
//! draft, and each field's rule.

use super::repo::{Household, HouseholdChanges};
use crate::db::text::text_enum;
use crate::ids::{HouseholdId, UserId};
use crate::provinces::{AdminMap, HouseholdPlace, PlaceFields, PlaceInput};
use crate::search::search_text;
use crate::validate::{self, ADDRESS_MAX_CHARS, NAME_MAX_CHARS, Problems};
use chrono::NaiveDateTime;

text_enum! {
    /// Active households are public; an admin suspends one, hiding it and its products.
    pub enum HouseholdStatus {
        Active = "active",
        Suspended = "suspended",
    }
}

/// A household's fields as a farmer (`POST /households`) or a file (an import) gives them.
pub struct HouseholdInput<'a> {
    pub name: &'a str,
    /// A commune, or a province on its map.
    pub place: PlaceInput<'a>,
    pub district: Option<&'a str>,
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub description: Option<&'a str>,
}

/// A change of a household as given (`PATCH /households/{id}`): `None` leaves a field as it is,
/// `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct HouseholdEdit<'a> {
    pub name: Option<&'a str>,
    /// A new place replaces the old one whole (`None` fields in it: not given).
    pub place: PlaceInput<'a>,
    pub district: Option<Option<&'a str>>,
    pub address: Option<Option<&'a str>>,
    pub phone: Option<Option<&'a str>>,
    pub description: Option<Option<&'a str>>,
    /// Admins only.
    pub status: Option<&'a str>,
    /// Where payouts go: `Some(None)` clears it.
    pub payout_account: Option<Option<PayoutAccountInput<'a>>>,
    pub free_shipping_from_vnd: Option<Option<i64>>,
}

/// A bank account to pay a household's share to.
#[derive(Debug, Clone, Copy)]
pub struct PayoutAccountInput<'a> {
    pub bank_bin: &'a str,
    pub account_number: &'a str,
}

impl HouseholdEdit<'_> {
    /// The columns this edit changes, each checked by the rule a new household follows (a new
    /// place replaces the old one whole); the status is left to the caller (it needs the role).
    pub fn changes(&self, problems: &mut Problems, map: &AdminMap) -> HouseholdChanges {
        let account = self
            .payout_account
            .map(|account| account.and_then(|a| fields::payout_account(problems, a)));
        let place = (self.place.commune_code.is_some() || self.place.province_code.is_some())
            .then(|| map.household_place(problems, PlaceFields::PLAIN, self.place))
            .flatten();
        HouseholdChanges {
            province_code: place.as_ref().map(|p| p.province_code.clone()),
            current_province_code: place
                .as_ref()
                .map(|p| Some(p.current_province_code.clone())),
            commune_code: place.map(|p| p.commune_code),
            name: self.name.and_then(|n| problems.check(fields::name(n))),
            district: self
                .district
                .and_then(|d| problems.check(fields::district(d))),
            address: self
                .address
                .and_then(|a| problems.check(fields::address(a))),
            phone: self.phone.and_then(|p| problems.check(fields::phone(p))),
            description: self
                .description
                .and_then(|d| problems.check(fields::description(d))),
            payout_bank_bin: account
                .as_ref()
                .map(|a| a.as_ref().map(|(bin, _)| bin.clone())),
            payout_account: account.map(|a| a.map(|(_, number)| number)),
            free_shipping_from_vnd: self.free_shipping_from_vnd.map(|threshold| {
                threshold.and_then(|t| problems.check(fields::free_shipping_from(t)))
            }),
            ..Default::default()
        }
    }
}

/// What a list of households is narrowed to, as the caller gives it in the query string.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdSearch {
    /// A two-digit province code, of the map `map` names.
    pub province_code: Option<String>,
    /// `current` (default) or `2008`.
    pub map: Option<String>,
    /// Words that must all occur in the name or description, whatever the case and diacritics.
    pub q: Option<String>,
    /// Admins only: `active` or `suspended` (admins see both by default).
    pub status: Option<String>,
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<i64>,
}

/// Each field's rule, for registering and for changing a household alike.
mod fields {
    use super::*;
    use crate::error::FieldError;

    pub use crate::validate::{description, name};

    pub fn district(value: Option<&str>) -> Result<Option<String>, FieldError> {
        validate::optional_text("district", value, NAME_MAX_CHARS)
    }

    pub fn address(value: Option<&str>) -> Result<Option<String>, FieldError> {
        validate::optional_text("address", value, ADDRESS_MAX_CHARS)
    }

    pub fn phone(value: Option<&str>) -> Result<Option<String>, FieldError> {
        validate::optional_phone("phone", value)
    }

    /// A bank's six-digit NAPAS BIN and an account number of 1 to 19 letters or digits (what
    /// a bank transfer, and VietQR, can carry).
    pub fn payout_account(
        problems: &mut Problems,
        input: PayoutAccountInput<'_>,
    ) -> Option<(String, String)> {
        let bin = input.bank_bin.trim();
        let number: String = input.account_number.split_whitespace().collect();
        let mut sound = true;
        if bin.len() != 6 || !bin.bytes().all(|b| b.is_ascii_digit()) {
            problems.add(
                "payout_account.bank_bin",
                "must be the bank's six-digit BIN",
            );
            sound = false;
        }
        if !(1..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
            problems.add(
                "payout_account.account_number",
                "must be 1 to 19 letters or digits",
            );
            sound = false;
        }
        sound.then(|| (bin.to_owned(), number.to_ascii_uppercase()))
    }

    pub fn free_shipping_from(value: i64) -> Result<i64, FieldError> {
        validate::in_range("free_shipping_from_vnd", value, 0, crate::validate::MAX_VND)
    }
}

/// A household's own fields, validated: what registering one stores.
#[derive(Debug)]
pub struct HouseholdDraft {
    pub name: String,
    pub place: HouseholdPlace,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
}

impl HouseholdDraft {
    /// Checks every field, recording every problem; `None` when there was one.
    pub fn parse(
        problems: &mut Problems,
        input: HouseholdInput<'_>,
        map: &AdminMap,
    ) -> Option<HouseholdDraft> {
        let name = problems.check(fields::name(input.name));
        let place = map.household_place(problems, PlaceFields::PLAIN, input.place);
        let district = problems.check(fields::district(input.district));
        let address = problems.check(fields::address(input.address));
        let phone = problems.check(fields::phone(input.phone));
        let description = problems.check(fields::description(input.description));
        Some(HouseholdDraft {
            name: name?,
            place: place?,
            district: district?,
            address: address?,
            phone: phone?,
            description: description?,
        })
    }

    /// The row of a household that joined at `joined_at`.
    pub fn into_row(
        self,
        id: HouseholdId,
        owner_id: Option<UserId>,
        status: HouseholdStatus,
        joined_at: NaiveDateTime,
    ) -> Household {
        Household {
            id,
            owner_id,
            search_text: search_text(&self.name, self.description.as_deref()),
            name: self.name,
            province_code: self.place.province_code,
            current_province_code: Some(self.place.current_province_code),
            commune_code: self.place.commune_code,
            district: self.district,
            address: self.address,
            phone: self.phone,
            description: self.description,
            status,
            joined_at,
            created_at: joined_at,
            updated_at: joined_at,
            payout_bank_bin: None,
            payout_account: None,
            free_shipping_from_vnd: None,
        }
    }
}
