//! Vietnam's administrative map, both of them (loaded by `provinces::repo`): the current one (34 provinces and their communes,
//! since 2025-07-01) and the 2008 one (63 provinces), each former province lying in one current
//! province. Loaded once (it changes only with a migration) and consulted in memory.

use std::collections::{BTreeMap, HashMap};

use crate::db::text::text_enum;
use crate::search::fold;
use crate::validate::Problems;

text_enum! {
    /// The map a province code belongs to: the same code can name different places on the two.
    pub enum ProvinceMap {
        Current = "current",
        Former = "2008",
    }
}

/// Vietnam, whose map this is: orders shipped anywhere else are export orders.
pub const HOME_COUNTRY: &str = "VN";

text_enum! {
    /// The part of the country a province lies in (scripts/vendor-regions): what shipping zones
    /// are made of.
    pub enum Region {
        North = "north",
        Central = "central",
        South = "south",
    }
}

#[derive(Debug, Clone)]
pub struct CurrentProvince {
    pub code: String,
    pub name: String,
    /// `tinh` (province) or `thanh-pho` (centrally-run city).
    pub kind: String,
    /// The resolution that formed it, as the source names it (may be empty).
    pub formed_by: String,
    /// Every current province has one (the vendored data; a test checks it).
    pub region: Option<Region>,
}

/// A province of the 2008 map (as `GET /provinces?map=2008` shows it).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FormerProvinceView)]
pub struct FormerProvince {
    pub code: String,
    pub name: String,
    /// The current province it lies in.
    pub current_code: String,
}

/// A commune, ward or special zone of the current map (as the API shows it).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CommuneView)]
pub struct Commune {
    pub code: String,
    pub name: String,
    /// `xa` (commune), `phuong` (ward) or `dac-khu` (special zone).
    pub kind: String,
    /// Its (current) province.
    pub province_code: String,
    /// The 2008 province it descends from.
    pub former_province_code: String,
    /// The source's note naming the units merged into it.
    pub former_units: String,
}

/// Both maps.
#[derive(Debug, Default)]
pub struct AdminMap {
    current: BTreeMap<String, CurrentProvince>,
    former: BTreeMap<String, FormerProvince>,
    communes: HashMap<String, Commune>,
    /// Per current province, its communes' codes (sorted) with their folded names, which a
    /// commune search reads.
    communes_of: BTreeMap<String, Vec<(String, String)>>,
}

/// A household's place: its 2008 province, its current one and, when given, its commune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdPlace {
    pub province_code: String,
    pub current_province_code: String,
    pub commune_code: Option<String>,
}

/// A province on a map (a product's origin, an order's destination) and the current province it
/// lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedProvince {
    pub code: String,
    pub map: ProvinceMap,
    pub current_code: String,
}

/// A place as a client gives it: a commune, or a province code with its map (2008 when not said).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlaceInput<'a> {
    pub commune_code: Option<&'a str>,
    pub province_code: Option<&'a str>,
    pub province_map: Option<&'a str>,
}

/// The names of the fields a place comes in, for the problems it may have.
#[derive(Debug, Clone, Copy)]
pub struct PlaceFields {
    pub commune_code: &'static str,
    pub province_code: &'static str,
    pub province_map: &'static str,
}

impl AdminMap {
    pub fn new(
        current: Vec<CurrentProvince>,
        former: Vec<FormerProvince>,
        communes: Vec<Commune>,
    ) -> AdminMap {
        let mut map = AdminMap::default();
        for commune in communes {
            map.communes_of
                .entry(commune.province_code.clone())
                .or_default()
                .push((commune.code.clone(), fold(&commune.name)));
            map.communes.insert(commune.code.clone(), commune);
        }
        map.communes_of.values_mut().for_each(|codes| codes.sort());
        map.current = current.into_iter().map(|p| (p.code.clone(), p)).collect();
        map.former = former.into_iter().map(|p| (p.code.clone(), p)).collect();
        map
    }

    /// The current provinces, by code.
    pub fn current_provinces(&self) -> impl Iterator<Item = &CurrentProvince> {
        self.current.values()
    }

    /// The 2008 provinces, by code.
    pub fn former_provinces(&self) -> impl Iterator<Item = &FormerProvince> {
        self.former.values()
    }

    pub fn current_province(&self, code: &str) -> Option<&CurrentProvince> {
        self.current.get(code)
    }

    pub fn former_province(&self, code: &str) -> Option<&FormerProvince> {
        self.former.get(code)
    }

    /// The 2008 provinces a current province absorbed, by code.
    pub fn absorbed_by<'a>(
        &'a self,
        current_code: &'a str,
    ) -> impl Iterator<Item = &'a FormerProvince> {
        self.former
            .values()
            .filter(move |p| p.current_code == current_code)
    }

    pub fn commune(&self, code: &str) -> Option<&Commune> {
        self.communes.get(code)
    }

    /// The communes of a current province whose folded name holds every word; `None` for a
    /// province the current map does not have.
    pub fn communes_of(&self, province_code: &str, words: &[String]) -> Option<Vec<&Commune>> {
        self.current.get(province_code)?;
        let codes = self.communes_of.get(province_code);
        Some(
            codes
                .into_iter()
                .flatten()
                .filter(|(_, name)| words.iter().all(|w| name.contains(w.as_str())))
                .filter_map(|(code, _)| self.communes.get(code))
                .collect(),
        )
    }

    /// The current province a province of `map` lies in; `None` for a code `map` does not have.
    pub fn current_code_of(&self, code: &str, map: ProvinceMap) -> Option<&str> {
        match map {
            ProvinceMap::Current => self.current.get(code).map(|p| p.code.as_str()),
            ProvinceMap::Former => self.former.get(code).map(|p| p.current_code.as_str()),
        }
    }

    /// The names a province is searched by: its own, and for a 2008 province also the current
    /// province's (Bắc Giang produce is found as "bắc giang" and as "bắc ninh").
    pub fn search_names(&self, code: &str, map: ProvinceMap) -> Vec<&str> {
        match map {
            ProvinceMap::Current => self
                .current
                .get(code)
                .map(|p| p.name.as_str())
                .into_iter()
                .collect(),
            ProvinceMap::Former => self
                .former
                .get(code)
                .into_iter()
                .flat_map(|p| {
                    [
                        Some(p.name.as_str()),
                        self.current.get(&p.current_code).map(|c| c.name.as_str()),
                    ]
                })
                .flatten()
                .collect(),
        }
    }

    /// A province code of the map `map` names (2008 when not given), recording a problem under
    /// `fields` when either is unknown.
    pub fn province(
        &self,
        problems: &mut Problems,
        fields: PlaceFields,
        code: &str,
        map: Option<&str>,
    ) -> Option<MappedProvince> {
        let map = match map {
            None => ProvinceMap::Former,
            Some(text) => problems.check(ProvinceMap::parse_field(fields.province_map, text))?,
        };
        let code = code.trim();
        match self.current_code_of(code, map) {
            Some(current_code) => Some(MappedProvince {
                code: code.to_owned(),
                map,
                current_code: current_code.to_owned(),
            }),
            None => {
                problems.add(fields.province_code, unknown_province(map));
                None
            }
        }
    }

    /// A commune of the current map, or a problem under `field`.
    pub fn known_commune(
        &self,
        problems: &mut Problems,
        field: &str,
        code: &str,
    ) -> Option<&Commune> {
        let commune = self.communes.get(code.trim());
        if commune.is_none() {
            problems.add(
                field,
                "unknown commune code; see GET /api/v1/provinces/{code}/communes",
            );
        }
        commune
    }

    /// Where a household is. A commune sets both provinces; a province given beside it must be
    /// the commune's on its map. A 2008 province alone sets both; a current one alone only
    /// when it is one former province (otherwise its 2008 province is not known: the commune decides).
    pub fn household_place(
        &self,
        problems: &mut Problems,
        fields: PlaceFields,
        input: PlaceInput<'_>,
    ) -> Option<HouseholdPlace> {
        let province = input
            .province_code
            .and_then(|code| self.province(problems, fields, code, input.province_map));
        match input.commune_code {
            Some(code) => {
                let commune = self.known_commune(problems, fields.commune_code, code)?;
                if let Some(province) = &province {
                    check_commune_in(problems, fields, commune, province);
                }
                Some(HouseholdPlace {
                    province_code: commune.former_province_code.clone(),
                    current_province_code: commune.province_code.clone(),
                    commune_code: Some(commune.code.clone()),
                })
            }
            None if input.province_code.is_none() => {
                problems.add(
                    fields.commune_code,
                    "give the commune (commune_code), or a province_code",
                );
                None
            }
            None => {
                let province = province?;
                let former_code = match province.map {
                    ProvinceMap::Former => province.code.clone(),
                    ProvinceMap::Current => {
                        let mut absorbed = self.absorbed_by(&province.code);
                        match (absorbed.next(), absorbed.next()) {
                            (Some(only), None) => only.code.clone(),
                            _ => {
                                problems.add(
                                    fields.province_code,
                                    "this current province joined several former ones: give the commune (commune_code)",
                                );
                                return None;
                            }
                        }
                    }
                };
                Some(HouseholdPlace {
                    province_code: former_code,
                    current_province_code: province.current_code,
                    commune_code: None,
                })
            }
        }
    }

    /// Where an order goes: a commune (its current province), or a province on its map.
    pub fn shipping_place(
        &self,
        problems: &mut Problems,
        fields: PlaceFields,
        input: PlaceInput<'_>,
    ) -> (Option<MappedProvince>, Option<String>) {
        let province = input
            .province_code
            .and_then(|code| self.province(problems, fields, code, input.province_map));
        let Some(code) = input.commune_code else {
            return (province, None);
        };
        let Some(commune) = self.known_commune(problems, fields.commune_code, code) else {
            return (None, None);
        };
        if let Some(province) = &province {
            check_commune_in(problems, fields, commune, province);
        }
        let current = MappedProvince {
            code: commune.province_code.clone(),
            map: ProvinceMap::Current,
            current_code: commune.province_code.clone(),
        };
        (Some(current), Some(commune.code.clone()))
    }
}

fn check_commune_in(
    problems: &mut Problems,
    fields: PlaceFields,
    commune: &Commune,
    province: &MappedProvince,
) {
    let its = match province.map {
        ProvinceMap::Current => &commune.province_code,
        ProvinceMap::Former => &commune.former_province_code,
    };
    if *its != province.code {
        problems.add(
            fields.province_code,
            format!(
                "the commune {} is in province {} on the {} map",
                commune.code, its, province.map
            ),
        );
    }
}

fn unknown_province(map: ProvinceMap) -> String {
    format!("unknown province code on the {map} map; see GET /api/v1/provinces?map={map}")
}

impl PlaceFields {
    /// A household's (and an import record's) field names.
    pub const PLAIN: PlaceFields = PlaceFields {
        commune_code: "commune_code",
        province_code: "province_code",
        province_map: "province_map",
    };
    /// An order's shipping block.
    pub const SHIPPING: PlaceFields = PlaceFields {
        commune_code: "shipping.commune_code",
        province_code: "shipping.province_code",
        province_map: "shipping.province_map",
    };
    /// A product's origin.
    pub const ORIGIN: PlaceFields = PlaceFields {
        commune_code: "origin_commune_code",
        province_code: "origin_province_code",
        province_map: "origin_map",
    };
}

/// The map a query's `map` parameter names: `current` when not given; a problem when unknown.
pub fn query_map(problems: &mut Problems, given: Option<&str>) -> ProvinceMap {
    given
        .and_then(|text| problems.check(ProvinceMap::parse_field("map", text)))
        .unwrap_or(ProvinceMap::Current)
}
