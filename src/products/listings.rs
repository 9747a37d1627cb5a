//! The products the catalogue index holds, as the products domain lists them: the index
//! (`crate::catalogue`) knows no product rules, it asks here.

use std::sync::Arc;

use super::model::decode_certifications;
use super::repo::{self, Listed, ListedRow};
use crate::admin_map::AdminMap;
use crate::catalogue::{Listing, ListingSource};
use crate::db::DbConnection;
use crate::provinces::ProvinceMap;

pub struct CatalogueListings {
    pub map: Arc<AdminMap>,
}

impl CatalogueListings {
    fn listing(&self, (product, household_name): ListedRow) -> Listing {
        let certifications = decode_certifications(&product.certifications);
        let origin_names = self
            .map
            .search_names(&product.origin_province_code, product.origin_map);
        let mut other_text = vec![household_name.as_str()];
        other_text.extend(product.description.as_deref());
        other_text.extend(origin_names);
        other_text.extend(certifications.iter().map(String::as_str));
        let row = postcard::to_allocvec(&product).unwrap_or_default();
        Listing {
            row,
            id: product.id.0,
            household_id: product.household_id.to_db(),
            other_text: other_text.join(" "),
            name: product.name,
            category: product.category,
            origin_current: product.origin_current_code,
            origin_2008: (product.origin_map == ProvinceMap::Former)
                .then_some(product.origin_province_code),
            certifications,
            price_vnd: product.price_vnd,
            in_stock: product.stock_quantity > 0,
            created_at: product.created_at.and_utc().timestamp_micros(),
            views: product.views,
        }
    }

    fn read(&self, conn: &mut DbConnection, which: Listed<'_>) -> anyhow::Result<Vec<Listing>> {
        Ok(repo::listed(conn, which)?
            .into_iter()
            .map(|row| self.listing(row))
            .collect())
    }
}

impl ListingSource for CatalogueListings {
    fn listings(
        &self,
        conn: &mut DbConnection,
        product_ids: &[String],
        household_ids: &[String],
    ) -> anyhow::Result<Vec<Listing>> {
        let mut listings = Vec::new();
        if !product_ids.is_empty() {
            listings.extend(self.read(conn, Listed::Products(product_ids))?);
        }
        if !household_ids.is_empty() {
            listings.extend(self.read(conn, Listed::OfHouseholds(household_ids))?);
        }
        Ok(listings)
    }

    fn listings_after(
        &self,
        conn: &mut DbConnection,
        after: Option<&str>,
        limit: i64,
    ) -> anyhow::Result<(Vec<Listing>, Option<String>)> {
        let (rows, last) = repo::listed_after(conn, after, limit)?;
        Ok((
            rows.into_iter().map(|row| self.listing(row)).collect(),
            last,
        ))
    }

    fn count(&self, conn: &mut DbConnection) -> anyhow::Result<i64> {
        Ok(repo::listed_count(conn)?)
    }
}

#[cfg(test)]
mod tests {
    //! The index answers what a brute-force filter of the database answers: the same ids in the
    //! same order, and the same totals, over random catalogues, queries and edits.

    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use proptest::prelude::*;

    use super::*;
    use crate::catalogue::{Catalogue, CatalogueOptions, CatalogueQuery, Sort};
    use crate::config::Settings;
    use crate::db::{Database, DatabaseUrl};

    /// Short words (no typo allowed under 5 letters), so that a match is a word of the text.
    const WORDS: [&str; 8] = ["Vải", "Cam", "Bưởi", "Nhãn", "Mít", "Gạo", "Bơ", "Bò"];
    const CATEGORIES: [&str; 3] = ["fruit", "vegetable", "processed"];
    const PROVINCES: [&str; 3] = ["24", "01", "79"];
    const CERTIFICATIONS: [&str; 3] = ["VietGAP", "OCOP", "organic"];

    #[derive(Debug, Clone)]
    struct ProductSpec {
        words: (usize, usize),
        household: usize,
        category: usize,
        province: usize,
        certifications: Vec<usize>,
        price: i64,
        stock: i64,
        paused: bool,
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Price(usize, i64),
        Stock(usize, i64),
        Pause(usize, bool),
        SuspendHousehold(usize, bool),
    }

    #[derive(Debug, Clone)]
    struct Search {
        word: Option<usize>,
        category: Option<usize>,
        province: Option<usize>,
        household: Option<usize>,
        certification: Option<usize>,
        min_price: Option<i64>,
        max_price: Option<i64>,
        in_stock: bool,
        sort: usize,
        page: usize,
    }

    fn product_spec() -> impl Strategy<Value = ProductSpec> {
        (
            (0..WORDS.len(), 0..WORDS.len()),
            0..3usize,
            0..CATEGORIES.len(),
            0..PROVINCES.len(),
            proptest::collection::vec(0..CERTIFICATIONS.len(), 0..3),
            prop::sample::select(vec![10_000i64, 20_000, 50_000, 120_000]),
            prop::sample::select(vec![0i64, 3]),
            prop::bool::weighted(0.2),
        )
            .prop_map(
                |(words, household, category, province, certifications, price, stock, paused)| {
                    ProductSpec {
                        words,
                        household,
                        category,
                        province,
                        certifications,
                        price,
                        stock,
                        paused,
                    }
                },
            )
    }

    fn edit(products: usize) -> impl Strategy<Value = Edit> {
        prop_oneof![
            (
                0..products,
                prop::sample::select(vec![5_000i64, 50_000, 90_000])
            )
                .prop_map(|(p, v)| Edit::Price(p, v)),
            (0..products, prop::sample::select(vec![0i64, 7])).prop_map(|(p, v)| Edit::Stock(p, v)),
            (0..products, any::<bool>()).prop_map(|(p, v)| Edit::Pause(p, v)),
            (0..3usize, any::<bool>()).prop_map(|(h, v)| Edit::SuspendHousehold(h, v)),
        ]
    }

    fn search() -> impl Strategy<Value = Search> {
        (
            (
                proptest::option::of(0..WORDS.len()),
                proptest::option::of(0..CATEGORIES.len()),
                proptest::option::of(0..PROVINCES.len()),
                proptest::option::of(0..3usize),
                proptest::option::of(0..CERTIFICATIONS.len()),
            ),
            (
                proptest::option::of(prop::sample::select(vec![10_000i64, 20_000, 60_000])),
                proptest::option::of(prop::sample::select(vec![20_000i64, 100_000])),
                any::<bool>(),
                0..4usize,
                0..2usize,
            ),
        )
            .prop_map(
                |(
                    (word, category, province, household, certification),
                    (min_price, max_price, in_stock, sort, page),
                )| Search {
                    word,
                    category,
                    province,
                    household,
                    certification,
                    min_price,
                    max_price,
                    in_stock,
                    sort,
                    page,
                },
            )
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        db: Database,
        catalogue: Arc<Catalogue>,
        households: Vec<String>,
        products: Vec<String>,
    }

    fn fixture(specs: &[ProductSpec]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::defaults();
        let url = DatabaseUrl::parse(dir.path().join("catalogue.db").to_str().unwrap());
        let db = Database::connect(url, &crate::startup::pool_options(&settings)).unwrap();
        db.migrate().unwrap();
        let households: Vec<String> = (0..3)
            .map(|_| crate::ids::HouseholdId::generate().to_db())
            .collect();
        let mut products = Vec::new();
        let mut sql = String::new();
        for (i, household) in households.iter().enumerate() {
            sql.push_str(&format!(
                "INSERT INTO households (id, name, province_code, status, search_text, joined_at, \
                 created_at, updated_at) VALUES ('{household}', 'Hộ {i}', '24', 'active', '', \
                 '2021-01-01', '2021-01-01', '2021-01-01');"
            ));
        }
        for (i, spec) in specs.iter().enumerate() {
            let id = crate::ids::ProductId::generate().to_db();
            let certifications = if spec.certifications.is_empty() {
                String::new()
            } else {
                let mut set: Vec<&str> = spec
                    .certifications
                    .iter()
                    .map(|c| CERTIFICATIONS[*c])
                    .collect();
                set.sort_unstable();
                set.dedup();
                format!(",{},", set.join(","))
            };
            let name = format!("{} {}", WORDS[spec.words.0], WORDS[spec.words.1]);
            sql.push_str(&format!(
                "INSERT INTO products (id, household_id, name, category, unit, unit_weight_grams, \
                 price_vnd, stock_quantity, origin_province_code, certifications, status, views, \
                 search_text, created_at, updated_at) VALUES ('{id}', '{}', '{name}', '{}', 'kg', \
                 1000, {}, {}, '{}', '{certifications}', '{}', {i}, '', \
                 '2021-01-0{} 00:00:00', '2021-01-01 00:00:00');",
                households[spec.household],
                CATEGORIES[spec.category],
                spec.price,
                spec.stock,
                PROVINCES[spec.province],
                if spec.paused { "paused" } else { "active" },
                1 + i % 3,
            ));
            products.push(id);
        }
        db.run_blocking(|conn| {
            if let DbConnection::Sqlite(lite) = conn {
                lite.batch_execute(&sql)
                    .map_err(crate::error::AppError::from)?;
            }
            Ok(())
        })
        .unwrap();
        let map = db
            .run_blocking(|conn| Ok(crate::provinces::repo::load(conn)?))
            .unwrap();
        let catalogue = Catalogue::start(
            db.clone(),
            Arc::new(CatalogueListings { map: Arc::new(map) }),
            CatalogueOptions {
                dir: None,
                follow_interval: Duration::from_millis(20),
                change_retention: Duration::from_secs(86_400),
                database_identity: "test".into(),
                search_threads: 0,
                quick_search_listings: 25_000,
                filter_cache_bytes: 1 << 20,
            },
        )
        .unwrap();
        Fixture {
            _dir: dir,
            db,
            catalogue,
            households,
            products,
        }
    }

    fn apply(fixture: &Fixture, edit: &Edit) {
        let sql = match edit {
            Edit::Price(p, v) => format!(
                "UPDATE products SET price_vnd = {v} WHERE id = '{}'",
                fixture.products[*p]
            ),
            Edit::Stock(p, v) => format!(
                "UPDATE products SET stock_quantity = {v} WHERE id = '{}'",
                fixture.products[*p]
            ),
            Edit::Pause(p, paused) => format!(
                "UPDATE products SET status = '{}' WHERE id = '{}'",
                if *paused { "paused" } else { "active" },
                fixture.products[*p]
            ),
            Edit::SuspendHousehold(h, suspended) => format!(
                "UPDATE households SET status = '{}' WHERE id = '{}'",
                if *suspended { "suspended" } else { "active" },
                fixture.households[*h]
            ),
        };
        fixture
            .db
            .run_blocking(move |conn| {
                if let DbConnection::Sqlite(lite) = conn {
                    lite.batch_execute(&sql)
                        .map_err(crate::error::AppError::from)?;
                }
                Ok(())
            })
            .unwrap();
    }

    const SORTS: [Sort; 4] = [Sort::Newest, Sort::PriceAsc, Sort::PriceDesc, Sort::Popular];
    const PER_PAGE: usize = 5;

    fn query(fixture: &Fixture, search: &Search) -> CatalogueQuery {
        CatalogueQuery {
            // A space after the word: a whole word, not a prefix.
            text: search
                .word
                .map_or(String::new(), |w| format!("{} ", WORDS[w])),
            category: search.category.map(|c| CATEGORIES[c].to_owned()),
            origin: search.province.map(|p| PROVINCES[p].to_owned()),
            map: ProvinceMap::Former,
            household_id: search.household.map(|h| fixture.households[h].clone()),
            certification: search.certification.map(|c| CERTIFICATIONS[c].to_owned()),
            min_price_vnd: search.min_price,
            max_price_vnd: search.max_price,
            in_stock: search.in_stock,
            sort: SORTS[search.sort],
            offset: search.page * PER_PAGE,
            limit: PER_PAGE,
            facets: Vec::new(),
        }
    }

    /// The same search over every listed row, in Rust.
    fn brute_force(fixture: &Fixture, search: &Search) -> (Vec<uuid::Uuid>, usize) {
        let rows = fixture
            .db
            .run_blocking(|conn| Ok(repo::listed_after(conn, None, 10_000)?))
            .unwrap()
            .0;
        let word = search.word.map(|w| crate::search::fold(WORDS[w]));
        let mut hits: Vec<_> = rows
            .into_iter()
            .map(|(product, _)| product)
            .filter(|p| {
                word.as_ref().is_none_or(|w| {
                    crate::search::fold(&p.name)
                        .split(' ')
                        .any(|token| token == w)
                }) && search.category.is_none_or(|c| p.category == CATEGORIES[c])
                    && search
                        .province
                        .is_none_or(|c| p.origin_province_code == PROVINCES[c])
                    && search
                        .household
                        .is_none_or(|h| p.household_id.to_db() == fixture.households[h])
                    && search.certification.is_none_or(|c| {
                        p.certifications
                            .contains(&format!(",{},", CERTIFICATIONS[c]))
                    })
                    && search.min_price.is_none_or(|m| p.price_vnd >= m)
                    && search.max_price.is_none_or(|m| p.price_vnd <= m)
                    && (!search.in_stock || p.stock_quantity > 0)
            })
            .collect();
        hits.sort_by(|a, b| {
            let primary = match SORTS[search.sort] {
                Sort::Newest | Sort::Relevance => b.created_at.cmp(&a.created_at),
                Sort::PriceAsc => a.price_vnd.cmp(&b.price_vnd),
                Sort::PriceDesc => b.price_vnd.cmp(&a.price_vnd),
                Sort::Popular => b.views.cmp(&a.views),
            };
            primary.then_with(|| b.id.0.cmp(&a.id.0))
        });
        let total = hits.len();
        let page = hits
            .into_iter()
            .skip(search.page * PER_PAGE)
            .take(PER_PAGE)
            .map(|p| p.id.0)
            .collect();
        (page, total)
    }

    fn agree(fixture: &Fixture, searches: &[Search]) -> Result<(), TestCaseError> {
        for search in searches {
            let answer = fixture.catalogue.search(&query(fixture, search)).unwrap();
            let expected = brute_force(fixture, search);
            let kept: Vec<repo::Product> = answer
                .hits
                .iter()
                .map(|hit| postcard::from_bytes(&hit.row).unwrap())
                .collect();
            let ids: Vec<uuid::Uuid> = kept.iter().map(|row| row.id.0).collect();
            prop_assert_eq!((ids, answer.total), expected, "{:?}", search);
            // The rows it answers with are the database's, as of the last change.
            for kept in kept {
                let id = kept.id;
                let stored = fixture
                    .db
                    .run_blocking(move |conn| Ok(repo::find(conn, &id)?))
                    .unwrap()
                    .unwrap();
                prop_assert_eq!(
                    (kept.price_vnd, kept.stock_quantity, kept.status),
                    (stored.price_vnd, stored.stock_quantity, stored.status)
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn the_index_answers_what_the_database_holds(
            specs in proptest::collection::vec(product_spec(), 1..25),
            edits in proptest::collection::vec(edit(25), 0..12),
            searches in proptest::collection::vec(search(), 8),
        ) {
            let fixture = fixture(&specs);
            agree(&fixture, &searches)?;
            for edit in &edits {
                let edit = match edit.clone() {
                    Edit::Price(p, v) => Edit::Price(p % specs.len(), v),
                    Edit::Stock(p, v) => Edit::Stock(p % specs.len(), v),
                    Edit::Pause(p, v) => Edit::Pause(p % specs.len(), v),
                    other => other,
                };
                apply(&fixture, &edit);
            }
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
                .block_on(fixture.catalogue.caught_up(Duration::from_secs(5)));
            agree(&fixture, &searches)?;
        }
    }
}
