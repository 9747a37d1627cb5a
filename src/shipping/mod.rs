//! Shipping fees: which zone a parcel travels in (from its household's province to the
//! destination) and what it costs by weight in that zone (`shipping` in the settings).

use serde::Serialize;

use crate::admin_map::{AdminMap, HOME_COUNTRY};
use crate::config::{ShippingSettings, TariffSettings};

/// Where a parcel goes: its country and, at home, its current province.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub country_code: &'a str,
    /// The current-map province, for a parcel that stays in Vietnam.
    pub current_province: Option<&'a str>,
}

/// The tariff zone of a parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Zone {
    SameProvince,
    SameRegion,
    OtherRegion,
    /// An export zone, by its name in the settings.
    Export(String),
}

impl From<Zone> for String {
    fn from(zone: Zone) -> String {
        match zone {
            Zone::SameProvince => "same_province".into(),
            Zone::SameRegion => "same_region".into(),
            Zone::OtherRegion => "other_region".into(),
            Zone::Export(name) => format!("export_{name}"),
        }
    }
}

/// The zone of a parcel from a household in `origin` (a current-map province) to `to`. A
/// province whose region is unknown counts as another region (the dearer zone).
pub fn zone(
    settings: &ShippingSettings,
    map: &AdminMap,
    origin: &str,
    to: Destination<'_>,
) -> Zone {
    if to.country_code != HOME_COUNTRY {
        let zone = settings
            .export
            .iter()
            .find(|z| z.countries.iter().any(|c| c == to.country_code))
            .or(settings.export.last())
            .map_or_else(String::new, |z| z.name.clone());
        return Zone::Export(zone);
    }
    let region = |code: &str| map.current_province(code).and_then(|p| p.region);
    match to.current_province {
        Some(destination) if destination == origin => Zone::SameProvince,
        Some(destination) => match (region(origin), region(destination)) {
            (Some(a), Some(b)) if a == b => Zone::SameRegion,
            _ => Zone::OtherRegion,
        },
        None => Zone::OtherRegion,
    }
}

/// The tariff of a zone.
pub fn tariff<'s>(settings: &'s ShippingSettings, zone: &Zone) -> &'s TariffSettings {
    match zone {
        Zone::SameProvince => &settings.same_province,
        Zone::SameRegion => &settings.same_region,
        Zone::OtherRegion => &settings.other_region,
        Zone::Export(name) => settings
            .export
            .iter()
            .find(|z| z.name == *name)
            .or(settings.export.last())
            .map(|z| &z.tariff)
            .expect("the settings have an export zone (checked at start)"),
    }
}

/// The price of a parcel of `weight_grams` (at least the first step): the first step, and each
/// further step started, whole. `None` past 64 bits.
pub fn fee(tariff: &TariffSettings, weight_grams: i64) -> Option<i64> {
    let beyond = weight_grams.saturating_sub(tariff.first_grams).max(0);
    // Both positive (steps are at least 1 g, checked at start): rounds up.
    let steps = beyond.checked_add(tariff.step_grams - 1)? / tariff.step_grams;
    steps
        .checked_mul(tariff.step_vnd)?
        .checked_add(tariff.first_vnd)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARIFF: TariffSettings = TariffSettings {
        first_grams: 1000,
        first_vnd: 18_000,
        step_grams: 500,
        step_vnd: 2_500,
    };

    #[test]
    fn the_first_step_then_each_started_step() {
        for (grams, vnd) in [
            (0, 18_000),
            (1, 18_000),
            (1000, 18_000),
            (1001, 20_500),
            (1500, 20_500),
            (1501, 23_000),
            (10_000, 18_000 + 18 * 2_500),
        ] {
            assert_eq!(fee(&TARIFF, grams), Some(vnd), "{grams} g");
        }
        assert_eq!(fee(&TARIFF, i64::MAX), None, "past 64 bits");
    }
}
