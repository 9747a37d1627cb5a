//! A full disk, while buyers order and the farmer edits and lists: every write is answered
//! (201, or 503 `storage_full` having changed nothing; never a 500), reads go on, and once an
//! operator makes room the service writes again without a restart and its search index catches
//! up. Nothing is lost: every order answered 201 is stored, stock and rollups add up.
//!
//! On SQLite the database and the index are on the small disk; on PostgreSQL only the index is
//! (the database server's disk is not the test's to fill), so there the writes go on while the
//! index waits for room.

use std::time::{Duration, Instant};

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use nongsan::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{
    Answer, Backend, RunningServer, SmallDisk, TestApp, TestDatabase, buyers, id, shipping,
    spawn_app_on, test_settings,
};
use crate::with_each_backend;

with_each_backend!(a_full_disk_refuses_writes_and_loses_nothing);

const START: i64 = 1_000_000;

/// What the load saw answered.
#[derive(Default)]
struct Answered {
    /// Orders answered 201 (their ids).
    orders: Vec<String>,
    /// Products answered 201 (their ids).
    listed: Vec<String>,
    storage_full: usize,
    /// 503 `unavailable`: a write that shared its commit with one that met the full disk.
    unavailable: usize,
}

impl Answered {
    /// A write's answer is 200/201, or a 503 (`storage_full`, or `unavailable` for a write that
    /// shared its commit with one that met the full disk) with a `Retry-After`: nothing else.
    fn note(&mut self, answer: &Answer) -> bool {
        let body = answer.json();
        match answer.status.as_u16() {
            200 | 201 => true,
            503 => {
                assert!(
                    answer.headers.contains_key("retry-after"),
                    "a 503 says when to retry"
                );
                match body["code"].as_str() {
                    Some("storage_full") => self.storage_full += 1,
                    Some("unavailable") => self.unavailable += 1,
                    _ => panic!("{body}"),
                }
                false
            }
            other => panic!("a write on a full disk answered {other}: {body}"),
        }
    }
}

/// The test server's settings, with its index on the small disk.
fn settings(database_url: &str, index_dir: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.catalogue.index_dir = index_dir.to_owned();
    settings
}

/// One unit of `product`, with a long note (so that the disk fills sooner).
fn order_body(product: &str) -> Value {
    json!({"items": [{"product_id": product, "quantity": 1}], "shipping": shipping("VN"),
           "note": "giao giờ hành chính ".repeat(20)})
}

/// One round of the load: each buyer orders one unit, the farmer edits the price and lists a
/// product (with a long description, so that the disk fills sooner).
async fn one_round(
    app: &TestApp,
    (farmer, household, product): (&str, &str, &str),
    buyers: &[String],
    round: usize,
    answered: &mut Answered,
) {
    let order = order_body(product);
    let orders = buyers
        .iter()
        .map(|buyer| app.post("/orders", Some(buyer), order.clone()));
    let product_path = format!("/products/{product}");
    let edit = app.patch(
        &product_path,
        Some(farmer),
        json!({"price_vnd": 30_000 + round as i64 % 50}),
    );
    let listing = json!({"household_id": household, "name": format!("Bưởi da xanh lứa {round}"),
                         "category": "fruit", "unit": "kg", "unit_weight_grams": 1000, "price_vnd": 45_000,
                         "stock_quantity": 10, "description": "Bưởi Bến Tre ".repeat(150)});
    let list = app.post("/products", Some(farmer), listing);
    let (orders, edit, list) = tokio::join!(futures_util::future::join_all(orders), edit, list);
    for answer in orders {
        if answered.note(&answer) {
            answered.orders.push(id(&answer.json()));
        }
    }
    answered.note(&edit);
    if answered.note(&list) {
        answered.listed.push(id(&list.json()));
    }
}

async fn a_full_disk_refuses_writes_and_loses_nothing(backend: Backend) {
    let Some(disk) = SmallDisk::mount(12) else {
        return;
    };
    let database = match backend {
        Backend::Sqlite => TestDatabase::sqlite_at(disk.path("nongsan.db")),
        Backend::Postgres => match TestDatabase::create(backend) {
            Some(database) => database,
            None => return,
        },
    };
    let index_dir = disk.path("index").to_string_lossy().into_owned();
    let mut app = spawn_app_on(database, |s| *s = settings(&s.database.url, &index_dir)).await;
    let (farmer, household, product) = app.seller_with_product(START, json!({})).await;
    let seller = (farmer.as_str(), household.as_str(), product.as_str());
    let buyers = buyers(&app, 4).await;

    disk.fill();
    let mut answered = Answered::default();
    let started = Instant::now();
    let mut round = 0;
    // SQLite: until the writes have met the full disk for a while; PostgreSQL: a while of writes
    // whose index cannot be written.
    while match backend {
        Backend::Sqlite => answered.storage_full < 50,
        Backend::Postgres => round < 20,
    } {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the disk never filled: {} orders placed",
            answered.orders.len()
        );
        round += 1;
        one_round(&app, seller, &buyers, round, &mut answered).await;
    }
    if backend == Backend::Postgres {
        assert_eq!(
            answered.storage_full, 0,
            "PostgreSQL's disk is not the one full"
        );
    }
    // Reads go on meanwhile, also from a server started while the disk is full (an operator's
    // first move), which answers a write as the first did.
    app.server.stop().await;
    let restarted = RunningServer::start(settings(&app.database.url, &index_dir)).await;
    app.address = restarted.address.clone();
    let product_page = app.get(&format!("/products/{product}"), None).await;
    assert_eq!(product_page.status, 200, "{}", product_page.text);
    let search = app.get("/products?q=vai%20thieu", None).await;
    assert_eq!(search.status, 200, "{}", search.text);
    if backend == Backend::Sqlite {
        let refused = app
            .post("/orders", Some(&buyers[0]), order_body(&product))
            .await;
        refused.assert_problem(503, "storage_full");
    }

    disk.make_room();
    // Writes succeed again, without a restart.
    let mut written_again = false;
    for _ in 0..50 {
        round += 1;
        let before = answered.orders.len();
        one_round(&app, seller, &buyers, round, &mut answered).await;
        if answered.orders.len() == before + buyers.len() {
            written_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written_again, "once there is room, orders are placed again");

    // The index catches up with every product listed, those listed while it could not be written too.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = app
            .get("/products?q=buoi%20da%20xanh&per_page=1", None)
            .await;
        assert_eq!(found.status, 200, "{}", found.text);
        let total = found.json()["total"].as_u64().unwrap() as usize;
        if total == answered.listed.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "search finds {total} of the {} products listed",
            answered.listed.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Nothing answered was lost, and nothing refused was half written.
    let mut all_stored = Vec::new();
    for page in 1.. {
        let more = app
            .listed_ids(&format!("/orders?per_page=100&page={page}"), Some(&farmer))
            .await;
        if more.is_empty() {
            break;
        }
        all_stored.extend(more);
    }
    all_stored.sort();
    let mut placed = answered.orders.clone();
    placed.sort();
    assert_eq!(
        all_stored, placed,
        "the orders stored are those answered 201"
    );
    let left = app.get(&format!("/products/{product}"), None).await.json()["stock_quantity"]
        .as_i64()
        .unwrap();
    assert_eq!(
        left + placed.len() as i64,
        START,
        "stock left + units sold = stock at start"
    );
    restarted.stop().await;
    app.assert_rollups_exact();
    if backend == Backend::Sqlite {
        assert_eq!(integrity_check(&app.database.url), "ok");
    }
}

#[derive(QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

/// SQLite's own check of the file: `ok`, or what is wrong.
fn integrity_check(path: &str) -> String {
    let mut conn = SqliteConnection::establish(path).expect("open the SQLite file");
    diesel::sql_query("PRAGMA integrity_check")
        .get_result::<IntegrityCheck>(&mut conn)
        .expect("PRAGMA integrity_check")
        .integrity_check
}
