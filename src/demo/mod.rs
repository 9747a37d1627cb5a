//! Demo data: a deterministic history of farm households, listings, orders and views that
//! reproduces the 2021 figures of Vietnam's postal platforms, written through the import path.
//!
//! In 2021 H1 against 2020 H1: 7,987 households joined against 2,745 (+191.0%), 14,594 products
//! listed against 3,966 (+268.0%), about 944 billion đồng of trade against 240.2 billion (+293%);
//! Bắc Giang lychee ("vải thiều Bắc Giang") about 8,280 tonnes, 250 billion đồng, 10 million views,
//! 140 tonnes exported to Europe, Japan and Australia.

pub mod money;

use crate::auth::model::{AccountStatus, Role};
use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::auth::repo::User;
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;
use crate::ids::UserId;
use crate::imports::model::{
    HouseholdRecord, ImportRecord, ImportSummary, OrderItemRecord, OrderRecord, ProductRecord,
    ViewsRecord,
};
use crate::imports::service::{plan, write};
use crate::time::now_utc;

/// Every demo account's password (farmers, buyers and the admin).
pub const DEMO_PASSWORD: &str = "nongsan-demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.nongsan.vn";
/// The buyer whose checkouts and payments the demo makes today.
pub const DEMO_BUYER_EMAIL: &str = "khachhang0@demo.nongsan.vn";
const BUYERS: usize = 2000;
const LYCHEE_PRODUCTS_2021: usize = 60;
const LYCHEE_PRODUCTS_2020: usize = 20;
const LYCHEE_GRAMS_2021: i64 = 8_280_000_000;
const LYCHEE_EXPORT_GRAMS_2021: i64 = 140_000_000;
const LYCHEE_GRAMS_2020: i64 = 2_600_000_000;
const LYCHEE_VIEWS_2021: i64 = 10_000_000;
const EXPORT_COUNTRIES: [&str; 8] = ["JP", "AU", "DE", "FR", "NL", "GB", "IT", "BE"];

/// Households joined, products listed and trade (đồng) per half year.
struct HalfYear {
    from: &'static str,
    to: &'static str,
    households: usize,
    products: usize,
    value_vnd: i64,
}

const HALF_YEARS: [HalfYear; 4] = [
    HalfYear {
        from: "2019-07-01",
        to: "2019-12-31",
        households: 1200,
        products: 1500,
        value_vnd: 60_000_000_000,
    },
    HalfYear {
        from: "2020-01-01",
        to: "2020-06-30",
        households: 2745,
        products: 3966,
        value_vnd: 240_200_000_000,
    },
    HalfYear {
        from: "2020-07-01",
        to: "2020-12-31",
        households: 3300,
        products: 4800,
        value_vnd: 420_000_000_000,
    },
    HalfYear {
        from: "2021-01-01",
        to: "2021-06-30",
        households: 7987,
        products: 14594,
        value_vnd: 944_000_000_000,
    },
];

const FAMILY: [&str; 14] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô",
];
const MIDDLE_MALE: [&str; 5] = ["Văn", "Đức", "Quang", "Minh", "Hữu"];
const MIDDLE_FEMALE: [&str; 4] = ["Thị", "Thu", "Ngọc", "Thanh"];
const GIVEN: [&str; 16] = [
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc", "Quế",
    "Sơn", "Tâm", "Thảo",
];

/// Provinces with more farm households online get more weight; Bắc Giang leads.
const PROVINCE_WEIGHTS: [(&str, u32); 12] = [
    ("24", 40),
    ("14", 12),
    ("87", 12),
    ("82", 10),
    ("68", 10),
    ("66", 9),
    ("02", 8),
    ("19", 8),
    ("89", 8),
    ("30", 7),
    ("92", 7),
    ("56", 6),
];
const ALL_PROVINCES: [&str; 63] = [
    "01", "02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "19", "20", "22", "24", "25",
    "26", "27", "30", "31", "33", "34", "35", "36", "37", "38", "40", "42", "44", "45", "46", "48",
    "49", "51", "52", "54", "56", "58", "60", "62", "64", "66", "67", "68", "70", "72", "74", "75",
    "77", "79", "80", "82", "83", "84", "86", "87", "89", "91", "92", "93", "94", "95", "96",
];

/// (name, category, unit, grams per unit, price range per unit in đồng)
type CatalogueEntry = (&'static str, &'static str, &'static str, i64, (i64, i64));
const CATALOGUE: [CatalogueEntry; 24] = [
    ("Nhãn lồng", "fruit", "kg", 1000, (25_000, 45_000)),
    ("Xoài cát Hòa Lộc", "fruit", "kg", 1000, (40_000, 70_000)),
    ("Thanh long ruột đỏ", "fruit", "kg", 1000, (15_000, 35_000)),
    ("Bưởi da xanh", "fruit", "quả", 1500, (40_000, 80_000)),
    ("Cam sành", "fruit", "kg", 1000, (15_000, 30_000)),
    ("Sầu riêng Ri6", "fruit", "kg", 1000, (60_000, 120_000)),
    ("Mận hậu", "fruit", "kg", 1000, (20_000, 40_000)),
    ("Rau cải ngọt", "vegetable", "kg", 1000, (10_000, 25_000)),
    ("Cà chua", "vegetable", "kg", 1000, (12_000, 30_000)),
    ("Su su", "vegetable", "kg", 1000, (8_000, 18_000)),
    ("Khoai lang tím", "vegetable", "kg", 1000, (15_000, 30_000)),
    (
        "Gạo ST25",
        "rice_grain",
        "bao 5 kg",
        5000,
        (120_000, 190_000),
    ),
    (
        "Gạo nếp cái hoa vàng",
        "rice_grain",
        "kg",
        1000,
        (25_000, 40_000),
    ),
    (
        "Chè Thái Nguyên",
        "tea_coffee",
        "hộp 500 g",
        500,
        (150_000, 400_000),
    ),
    (
        "Cà phê Robusta",
        "tea_coffee",
        "kg",
        1000,
        (80_000, 180_000),
    ),
    ("Tôm sú", "seafood", "kg", 1000, (180_000, 320_000)),
    ("Cá tra phi lê", "seafood", "kg", 1000, (60_000, 110_000)),
    ("Gà đồi", "livestock", "con", 1800, (150_000, 260_000)),
    ("Lợn mán", "livestock", "kg", 1000, (120_000, 180_000)),
    (
        "Mật ong bạc hà",
        "processed",
        "chai 1 lít",
        1400,
        (250_000, 450_000),
    ),
    ("Miến dong", "processed", "kg", 1000, (60_000, 100_000)),
    ("Nấm hương khô", "processed", "kg", 1000, (250_000, 400_000)),
    ("Hoa lan hồ điệp", "other", "chậu", 2000, (300_000, 800_000)),
    ("Măng khô", "other", "kg", 1000, (200_000, 350_000)),
];

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("demo dates are valid")
}

/// A random moment on a random Vietnam calendar day in [from, to], as UTC RFC 3339.
fn moment(
    rng: &mut ChaCha8Rng,
    tz: chrono_tz::Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> NaiveDateTime {
    let days = (to - from).num_days();
    let date = from + Duration::days(rng.gen_range(0..=days));
    let local = date
        .and_hms_opt(
            rng.gen_range(6..21),
            rng.gen_range(0..60),
            rng.gen_range(0..60),
        )
        .expect("valid time");
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(local)
}

fn rfc3339(t: NaiveDateTime) -> String {
    crate::time::to_rfc3339(&t)
}

fn person(rng: &mut ChaCha8Rng) -> (String, bool) {
    let male = rng.gen_bool(0.5);
    let middle = if male {
        MIDDLE_MALE.choose(rng)
    } else {
        MIDDLE_FEMALE.choose(rng)
    };
    let name = format!(
        "{} {} {}",
        FAMILY.choose(rng).expect("names"),
        middle.expect("names"),
        GIVEN.choose(rng).expect("names")
    );
    (name, male)
}

fn province(rng: &mut ChaCha8Rng) -> &'static str {
    if rng.gen_bool(0.55) {
        let total: u32 = PROVINCE_WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut pick = rng.gen_range(0..total);
        for (code, weight) in PROVINCE_WEIGHTS {
            if pick < weight {
                return code;
            }
            pick -= weight;
        }
    }
    ALL_PROVINCES.choose(rng).expect("provinces")
}

struct DemoHousehold {
    reference: String,
    joined_at: NaiveDateTime,
    province: &'static str,
}

struct DemoProduct {
    reference: String,
    household: usize,
    created_at: NaiveDateTime,
    price: i64,
}

/// Builds one order record: (rng, product index, quantity, placed at, country, status).
type MakeOrder<'a> =
    dyn FnMut(&mut ChaCha8Rng, usize, i64, NaiveDateTime, &str, &str) -> ImportRecord + 'a;

/// A demo account: email, full name, role.
pub type DemoAccount = (String, String, Role);

/// Generates the records (deterministically) and the accounts they name.
pub fn generate(tz: chrono_tz::Tz, scale: u32) -> (Vec<(u64, ImportRecord)>, Vec<DemoAccount>) {
    let mut rng = ChaCha8Rng::seed_from_u64(2021);
    // Scale 1 is the seed's platform; larger scales multiply every count and amount (benchmarks).
    let k = i64::from(scale.max(1));
    let n = |count: usize| count * k as usize;
    let mut records: Vec<ImportRecord> = Vec::new();
    let mut accounts: Vec<DemoAccount> = Vec::new();

    // Households, each run by a farmer account.
    let mut homes: Vec<DemoHousehold> = Vec::new();
    for half in &HALF_YEARS {
        for _ in 0..n(half.households) {
            let i = homes.len();
            let (name, male) = person(&mut rng);
            let email = format!("nongdan{i}@demo.nongsan.vn");
            accounts.push((email.clone(), name.clone(), Role::Farmer));
            // The first Bắc Giang households of 2020 grow lychee in Lục Ngạn.
            let province = if i.is_multiple_of(97) {
                "24"
            } else {
                province(&mut rng)
            };
            let joined_at = moment(&mut rng, tz, day(half.from), day(half.to));
            records.push(ImportRecord::Household(HouseholdRecord {
                reference: format!("h{i}"),
                name: format!("Hộ {} {}", if male { "ông" } else { "bà" }, name),
                commune_code: None,
                province_code: Some(province.to_owned()),
                province_map: None,
                joined_at: Some(rfc3339(joined_at)),
                owner_email: Some(email),
                district: None,
                address: None,
                phone: None,
                description: None,
                status: None,
            }));
            homes.push(DemoHousehold {
                reference: format!("h{i}"),
                joined_at,
                province,
            });
        }
    }
    let mut all_by_joining: Vec<usize> = (0..homes.len()).collect();
    all_by_joining.sort_by_key(|i| homes[*i].joined_at);
    let bac_giang_by_joining: Vec<usize> = all_by_joining
        .iter()
        .copied()
        .filter(|i| homes[*i].province == "24")
        .collect();

    // Listings: the general catalogue, and the Bắc Giang lychee.
    let mut listings: Vec<DemoProduct> = Vec::new();
    let mut lychee_2020 = Vec::new();
    let mut lychee_2021 = Vec::new();
    for (h, half) in HALF_YEARS.iter().enumerate() {
        let (from, to) = (day(half.from), day(half.to));
        let lychee = match h {
            1 => n(LYCHEE_PRODUCTS_2020),
            3 => n(LYCHEE_PRODUCTS_2021),
            _ => 0,
        };
        for n in 0..n(half.products) {
            let i = listings.len();
            let created_at = moment(&mut rng, tz, from, to.min(from + Duration::days(150)));
            let is_lychee = n < lychee;
            // A household that had joined by then: a random one of the first joiners.
            let by_joining = if is_lychee {
                &bac_giang_by_joining
            } else {
                &all_by_joining
            };
            let joined_before = by_joining
                .partition_point(|k| homes[*k].joined_at < created_at)
                .max(1);
            let household = by_joining[rng.gen_range(0..joined_before)];
            let (name, category, unit, grams, price, description) = if is_lychee {
                let place = ["Lục Ngạn", "Tân Yên", "Lục Nam"][n % 3];
                let grade = 1 + n % 2;
                let price = rng.gen_range(28_000..=32_400);
                (
                    format!("Vải thiều {place} Bắc Giang loại {grade}"),
                    "fruit",
                    "kg",
                    1000,
                    price,
                    Some("Vải thiều chín cây, hái trong ngày, đạt chuẩn VietGAP".to_owned()),
                )
            } else {
                let (name, category, unit, grams, (low, high)) =
                    *CATALOGUE.choose(&mut rng).expect("catalogue");
                (
                    name.to_owned(),
                    category,
                    unit,
                    grams,
                    rng.gen_range(low..=high) / 1000 * 1000,
                    None,
                )
            };
            let reference = format!("p{i}");
            records.push(ImportRecord::Product(ProductRecord {
                reference: reference.clone(),
                household: homes[household].reference.clone(),
                name,
                description,
                category: category.to_owned(),
                unit: unit.to_owned(),
                unit_weight_grams: grams,
                price_vnd: price,
                stock_quantity: Some(rng.gen_range(0..5000)),
                created_at: Some(rfc3339(created_at)),
                origin_province_code: None,
                origin_map: None,
                certifications: is_lychee.then(|| vec!["VietGAP".to_owned()]),
                ocop_stars: None,
                harvest_from: None,
                harvest_to: None,
                status: None,
            }));
            if is_lychee {
                if h == 1 {
                    lychee_2020.push(i)
                } else {
                    lychee_2021.push(i)
                }
            }
            listings.push(DemoProduct {
                reference,
                household,
                created_at,
                price,
            });
        }
    }

    let mut is_lychee = vec![false; listings.len()];
    for i in lychee_2020.iter().chain(&lychee_2021) {
        is_lychee[*i] = true;
    }
    let buyers: Vec<String> = (0..n(BUYERS))
        .map(|i| {
            let (name, _) = person(&mut rng);
            let email = format!("khachhang{i}@demo.nongsan.vn");
            accounts.push((email.clone(), name, Role::Buyer));
            email
        })
        .collect();
    accounts.push((
        DEMO_ADMIN_EMAIL.to_owned(),
        "Quản trị viên demo".to_owned(),
        Role::Admin,
    ));

    let mut order = |rng: &mut ChaCha8Rng,
                     product: usize,
                     quantity: i64,
                     placed_at: NaiveDateTime,
                     country: &str,
                     status: &str| {
        let p = &listings[product];
        ImportRecord::Order(OrderRecord {
            reference: None,
            household: homes[p.household].reference.clone(),
            placed_at: rfc3339(placed_at),
            status: Some(status.to_owned()),
            country_code: Some(country.to_owned()),
            items: vec![OrderItemRecord {
                product: p.reference.clone(),
                quantity,
                unit_price_vnd: None,
            }],
            buyer_email: Some(buyers.choose(rng).expect("buyers").clone()),
            payment_method: None,
            shipping: None,
            note: None,
        })
    };

    // Lychee season: late May to June. Weights are filled exactly; the last order takes the rest.
    let lychee_orders = |rng: &mut ChaCha8Rng,
                         products: &[usize],
                         year: i32,
                         grams: i64,
                         export_grams: i64,
                         records: &mut Vec<ImportRecord>,
                         order: &mut MakeOrder| {
        let (from, to) = (
            NaiveDate::from_ymd_opt(year, 5, 20).expect("date"),
            NaiveDate::from_ymd_opt(year, 6, 30).expect("date"),
        );
        let (mut left, mut export_left) = (grams / 1000, export_grams / 1000);
        while left > 0 {
            let product = *products.choose(rng).expect("lychee products");
            let exporting = export_left > 0;
            let wanted = if exporting {
                rng.gen_range(1500..=2500)
            } else {
                rng.gen_range(500..=3500)
            };
            let quantity = wanted
                .min(left)
                .min(if exporting { export_left } else { i64::MAX });
            let country = if exporting {
                *EXPORT_COUNTRIES.choose(rng).expect("countries")
            } else {
                "VN"
            };
            let placed_at = moment(rng, tz, from, to);
            records.push(order(
                rng,
                product,
                quantity,
                placed_at,
                country,
                "delivered",
            ));
            left -= quantity;
            if exporting {
                export_left -= quantity;
            }
        }
        // A few cancelled ones, which never count.
        for _ in 0..25 {
            let product = *products.choose(rng).expect("lychee products");
            let placed_at = moment(rng, tz, from, to);
            let quantity = rng.gen_range(100..=900);
            records.push(order(rng, product, quantity, placed_at, "VN", "cancelled"));
        }
    };
    lychee_orders(
        &mut rng,
        &lychee_2020,
        2020,
        LYCHEE_GRAMS_2020,
        0,
        &mut records,
        &mut order,
    );
    lychee_orders(
        &mut rng,
        &lychee_2021,
        2021,
        k * LYCHEE_GRAMS_2021,
        k * LYCHEE_EXPORT_GRAMS_2021,
        &mut records,
        &mut order,
    );

    // Everything else, until each half year's trade reaches its figure (lychee included).
    let lychee_value: Vec<i64> = {
        let mut per_half = vec![0i64; HALF_YEARS.len()];
        for record in &records {
            if let ImportRecord::Order(o) = record
                && o.status.as_deref() != Some("cancelled")
            {
                let p: usize = o.items[0].product[1..].parse().expect("demo refs");
                let half = if o.placed_at.starts_with("2020") {
                    1
                } else {
                    3
                };
                per_half[half] += listings[p].price * o.items[0].quantity;
            }
        }
        per_half
    };
    for (h, half) in HALF_YEARS.iter().enumerate() {
        let (from, to) = (day(half.from), day(half.to));
        let mut left = k * half.value_vnd - lychee_value[h];
        let sellable: Vec<usize> = (0..listings.len())
            .filter(|p| !is_lychee[*p] && listings[*p].created_at.date() < to)
            .collect();
        let cheapest = sellable.iter().copied().min_by_key(|q| listings[*q].price);
        while left > 0 {
            let product = *sellable.choose(&mut rng).expect("products to sell");
            let p = &listings[product];
            let start = from.max(p.created_at.date() + Duration::days(1));
            let placed_at = moment(&mut rng, tz, start.min(to), to);
            let wanted_value = rng.gen_range(4_000_000..=60_000_000).min(left);
            let quantity = (wanted_value / p.price).max(1);
            if quantity * p.price > left {
                // The remainder is smaller than one unit of this product: close with the cheapest way.
                let cheapest = cheapest.expect("products");
                let q = left / listings[cheapest].price;
                if q == 0 {
                    break;
                }
                let start = from
                    .max(listings[cheapest].created_at.date() + Duration::days(1))
                    .min(to);
                let placed_at = moment(&mut rng, tz, start, to);
                records.push(order(&mut rng, cheapest, q, placed_at, "VN", "delivered"));
                left -= q * listings[cheapest].price;
                continue;
            }
            let status = if rng.gen_bool(0.03) {
                "cancelled"
            } else {
                "delivered"
            };
            records.push(order(&mut rng, product, quantity, placed_at, "VN", status));
            if status != "cancelled" {
                left -= quantity * p.price;
            }
        }
    }

    // Views: the lychee pages draw 10 million in May and June 2021; others a few each.
    let season: Vec<NaiveDate> = (0..61)
        .map(|d| day("2021-05-01") + Duration::days(d))
        .collect();
    // Each (product, day) gets a random share by weight; the last takes the rounding remainder,
    // so the total is exact and no share is negative.
    let total_views = k * LYCHEE_VIEWS_2021;
    let weights: Vec<i64> = (0..lychee_2021.len() * season.len())
        .map(|_| rng.gen_range(800..=1200))
        .collect();
    let weight_sum: i64 = weights.iter().sum();
    let mut views_left = total_views;
    let mut slot = 0;
    for product in &lychee_2021 {
        for date in &season {
            let share = if slot + 1 == weights.len() {
                views_left
            } else {
                total_views * weights[slot] / weight_sum
            };
            slot += 1;
            views_left -= share;
            records.push(ImportRecord::Views(ViewsRecord {
                product: listings[*product].reference.clone(),
                date: date.format("%Y-%m-%d").to_string(),
                count: share,
            }));
        }
    }
    for (i, p) in listings.iter().enumerate() {
        if is_lychee[i] || i % 2 == 1 {
            continue;
        }
        let date =
            (p.created_at.date() + Duration::days(rng.gen_range(1..60))).min(day("2021-06-30"));
        records.push(ImportRecord::Views(ViewsRecord {
            product: p.reference.clone(),
            date: date.format("%Y-%m-%d").to_string(),
            count: rng.gen_range(5..3000),
        }));
    }

    let numbered = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, r))
        .collect();
    (numbered, accounts)
}

/// True when the database has no households yet (the demo loads only into an empty one).
pub fn is_empty(conn: &mut DbConnection) -> diesel::QueryResult<bool> {
    crate::households::repo::none_yet(conn)
}

/// Loads the demo: accounts (one password hash for all), then the history through the import path.
pub fn load(
    conn: &mut DbConnection,
    tz: chrono_tz::Tz,
    scale: u32,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportSummary, AppError> {
    let started = std::time::Instant::now();
    let (records, accounts) = generate(tz, scale);
    tracing::info!(
        records = records.len(),
        seconds = started.elapsed().as_secs_f64(),
        "demo history generated"
    );
    let password_hash = crate::auth::password::hash(DEMO_PASSWORD)?;
    let now = now_utc();
    let rows: Vec<User> = accounts
        .into_iter()
        .map(|(email, full_name, role)| User {
            id: UserId::generate(),
            email_key: email.to_lowercase(),
            email,
            password_hash: password_hash.clone(),
            full_name,
            role,
            phone: None,
            created_at: now,
            status: AccountStatus::Active,
        })
        .collect();
    write_transaction(conn, |conn| {
        for chunk in rows.chunks(1000) {
            crate::auth::repo::insert_users(conn, chunk)?;
        }
        Ok::<_, AppError>(())
    })?;
    let map = crate::provinces::repo::load(conn)?;
    let plan = plan(conn, &map, records, Default::default())?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "demo history checked"
    );
    let total = plan.records();
    write(conn, plan, tz, &|done| progress(done, total))
}
