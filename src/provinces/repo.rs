//! The administrative map's tables (loaded whole: they change only with a migration).

use diesel::prelude::*;

use crate::admin_map::{AdminMap, Commune, CurrentProvince, FormerProvince, Region};
use crate::db::DbConnection;
use crate::db::schema::{communes, current_provinces, provinces};

/// Both maps, from the tables the migrations load.
pub fn load(conn: &mut DbConnection) -> QueryResult<AdminMap> {
    let current = current_provinces::table
        .order(current_provinces::code)
        .select((
            current_provinces::code,
            current_provinces::name,
            current_provinces::kind,
            current_provinces::formed_by,
            current_provinces::region,
        ))
        .load::<(String, String, String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(code, name, kind, formed_by, region)| {
            let region = region.as_deref().and_then(Region::parse);
            CurrentProvince {
                code,
                name,
                kind,
                formed_by,
                region,
            }
        })
        .collect();
    let former = provinces::table
        .order(provinces::code)
        .select((provinces::code, provinces::name, provinces::current_code))
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(code, name, current_code)| FormerProvince {
            code,
            name,
            current_code: current_code.unwrap_or_default(),
        })
        .collect();
    let communes = communes::table
        .select((
            communes::code,
            communes::name,
            communes::kind,
            communes::province_code,
            communes::former_province_code,
            communes::former_units,
        ))
        .load::<(String, String, String, String, String, String)>(conn)?
        .into_iter()
        .map(
            |(code, name, kind, province_code, former_province_code, former_units)| Commune {
                code,
                name,
                kind,
                province_code,
                former_province_code,
                former_units,
            },
        )
        .collect();
    Ok(AdminMap::new(current, former, communes))
}

#[cfg(test)]
mod tests {
    use diesel::SqliteConnection;

    use super::*;
    use crate::admin_map::ProvinceMap;
    use crate::db::run_migrations;

    /// The vendored map, as the migrations load it, holds together: every 2008 province lies in
    /// one current province, and every commune descends from a 2008 province of its own current one.
    #[test]
    fn the_migrated_map_holds_together() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        run_migrations(&mut conn).unwrap();
        let map = load(&mut conn).unwrap();
        assert_eq!(map.current_provinces().count(), 34);
        assert_eq!(map.former_provinces().count(), 63);
        for former in map.former_provinces() {
            assert!(
                map.current_province(&former.current_code).is_some(),
                "{} lies in no current province",
                former.code
            );
        }
        let mut communes = 0;
        for province in map.current_provinces() {
            for commune in map.communes_of(&province.code, &[]).unwrap() {
                communes += 1;
                assert_eq!(
                    map.current_code_of(&commune.former_province_code, ProvinceMap::Former),
                    Some(province.code.as_str()),
                    "commune {}",
                    commune.code
                );
            }
        }
        assert_eq!(communes, 3321);
        // Every current province has its region (scripts/vendor-regions): 15 north, 11 central, 8
        // south; Hà Nội and Bắc Ninh in the north, Huế and Lâm Đồng central, Hồ Chí Minh City south.
        let region_of = |code: &str| map.current_province(code).and_then(|p| p.region);
        let mut by_region = std::collections::BTreeMap::new();
        for province in map.current_provinces() {
            *by_region
                .entry(province.region.expect("a region"))
                .or_insert(0) += 1;
        }
        assert_eq!(
            by_region.into_iter().collect::<Vec<_>>(),
            [
                (Region::North, 15),
                (Region::Central, 11),
                (Region::South, 8)
            ]
        );
        for (code, region) in [
            ("01", Region::North),
            ("24", Region::North),
            ("46", Region::Central),
            ("68", Region::Central),
            ("79", Region::South),
        ] {
            assert_eq!(region_of(code), Some(region), "{code}");
        }
        // Every current code is also a 2008 code (origins given on the current map are stored in
        // columns that still reference the 2008 table).
        for province in map.current_provinces() {
            assert!(
                map.former_province(&province.code).is_some(),
                "{}",
                province.code
            );
        }
    }
}
