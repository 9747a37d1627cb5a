//! Integrity under concurrent edits: stock, statistics and money hold whatever clients do at
//! the same time, and a slow write is never cut in half by the request timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use serde_json::json;

use crate::helpers::{
    Answer, Backend, TestApp, buyers, id, ndjson_lines, place_order_at, shipping, spawn_app_with,
};
use crate::{on_both_backends, with_each_backend};

on_both_backends!(
    orders_never_oversell_while_the_farmer_edits_the_listing,
    archiving_while_buyers_order_keeps_stock_and_totals_exact,
    cancelling_an_imported_open_order_returns_no_stock,
    totals_past_64_bits_are_refused_never_wrapped,
    concurrent_household_edits_lose_nothing,
);

/// Orders `quantity` of `product` for `buyer` until `stop`; returns the units bought.
async fn keep_ordering(
    app: Arc<TestApp>,
    buyer: String,
    product: String,
    quantity: i64,
    stop: Arc<AtomicBool>,
) -> i64 {
    let mut bought = 0;
    while !stop.load(Ordering::Relaxed) {
        let answer = app
            .place_order(
                &buyer,
                json!([{"product_id": product, "quantity": quantity}]),
                None,
            )
            .await;
        match answer.status.as_u16() {
            201 => bought += quantity,
            409 => {
                let code = answer.json()["code"].as_str().unwrap_or("").to_owned();
                assert!(
                    code == "insufficient_stock" || code == "product_unavailable",
                    "{}",
                    answer.text
                );
                if code == "product_unavailable" {
                    break;
                }
            }
            // The database busy for a moment: nothing was written, the buyer may try again.
            503 => {}
            _ => panic!("unexpected answer to an order: {}", answer.text),
        }
    }
    bought
}

/// The scenario: 16 buyers take one unit at a time while the farmer changes the
/// price and the description in 6 loops. A PATCH that wrote the whole row back undid orders
/// that took stock between its read and its write (1,733 units sold that never existed).
async fn orders_never_oversell_while_the_farmer_edits_the_listing(app: TestApp) {
    const START: i64 = 3_000;
    let app = Arc::new(app);
    let (farmer, _, product) = app.seller_with_product(START, json!({})).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut buying = Vec::new();
    for buyer in buyers(&app, 16).await {
        buying.push(tokio::spawn(keep_ordering(
            app.clone(),
            buyer,
            product.clone(),
            1,
            stop.clone(),
        )));
    }
    let edits = Arc::new(AtomicI64::new(0));
    let mut editing = Vec::new();
    for editor in 0..6_i64 {
        let (app, farmer, product, stop, edits) = (
            app.clone(),
            farmer.clone(),
            product.clone(),
            stop.clone(),
            edits.clone(),
        );
        editing.push(tokio::spawn(async move {
            let mut round = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let body = json!({"price_vnd": 30_000 + editor * 100 + round % 100,
                                  "description": format!("Lứa {editor}-{round}")});
                let answer = app
                    .patch(&format!("/products/{product}"), Some(&farmer), body)
                    .await;
                assert!(
                    answer.status == 200 || answer.status == 503,
                    "{}",
                    answer.text
                );
                edits.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sold = 0;
    for buyer in buying {
        sold += buyer.await.unwrap();
    }
    for editor in editing {
        editor.await.unwrap();
    }
    let left = app.stock_of(&farmer, &product).await;
    assert!(sold > 0 && edits.load(Ordering::Relaxed) > 0);
    assert_eq!(left + sold, START, "{sold} sold and {left} left of {START}");
    let orders = app.get("/orders?per_page=1", Some(&farmer)).await.json();
    assert_eq!(orders["total"], sold, "one order per unit sold");
    app.assert_rollups_exact();
}

/// Buyers order while the farmer archives the product (twice at once) and pauses it: no
/// order is taken once the archive has answered, the stock adds up, and the product leaves
/// the statistics' totals exactly once.
async fn archiving_while_buyers_order_keeps_stock_and_totals_exact(app: TestApp) {
    const START: i64 = 100_000;
    let app = Arc::new(app);
    let (farmer, _, product) = app.seller_with_product(START, json!({})).await;
    let stop = Arc::new(AtomicBool::new(false));
    let archived_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let late_orders = Arc::new(AtomicI64::new(0));
    let mut buying = Vec::new();
    for buyer in buyers(&app, 8).await {
        let (app, product, stop, archived_at, late_orders) = (
            app.clone(),
            product.clone(),
            stop.clone(),
            archived_at.clone(),
            late_orders.clone(),
        );
        buying.push(tokio::spawn(async move {
            let mut bought = 0;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let answer = app
                    .place_order(
                        &buyer,
                        json!([{"product_id": product, "quantity": 2}]),
                        None,
                    )
                    .await;
                match answer.status.as_u16() {
                    201 => {
                        bought += 2;
                        if archived_at.lock().unwrap().is_some_and(|at| sent > at) {
                            late_orders.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    409 => assert_eq!(answer.json()["code"], "product_unavailable"),
                    503 => {}
                    _ => panic!("unexpected answer to an order: {}", answer.text),
                }
            }
            bought
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let path = format!("/products/{product}");
    let (first, second, paused) = tokio::join!(
        app.delete(&path, Some(&farmer)),
        app.delete(&path, Some(&farmer)),
        app.patch(&path, Some(&farmer), json!({"status": "paused"})),
    );
    *archived_at.lock().unwrap() = Some(Instant::now());
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (204, 204));
    assert!(
        paused.status == 200 || paused.status == 503,
        "{}",
        paused.text
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sold = 0;
    for buyer in buying {
        sold += buyer.await.unwrap();
    }
    assert_eq!(
        late_orders.load(Ordering::Relaxed),
        0,
        "ordered after archiving"
    );
    let product_now = app.get(&path, Some(&farmer)).await.json();
    assert!(sold > 0);
    assert_eq!(
        product_now["stock_quantity"].as_i64().unwrap() + sold,
        START
    );
    // The last of the archive and the pause wins; either way the product is off the market.
    assert_ne!(product_now["status"], "active");
    app.assert_rollups_exact();
}

/// The owner renames a household while changing its description in other requests, and two
/// admins suspend and reinstate it at the same time: the search text is built from the name and
/// description the household ends with, and it counts in the totals exactly as its status says.
async fn concurrent_household_edits_lose_nothing(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let admins = [app.signed_in_admin().await, app.signed_in_admin().await];
    let household = app.household(&farmer, "Hộ ông Hùng", "24").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/households/{household}");
    let mut edits = Vec::new();
    for round in 0..12 {
        let name = json!({"name": format!("Hộ {}", ["Lan", "Mai", "Cúc"][round % 3])});
        let description =
            json!({"description": format!("Vườn {}", ["vải", "nhãn", "bưởi", "cam"][round % 4])});
        let status = json!({"status": if round % 2 == 0 { "suspended" } else { "active" }});
        edits.push(app.patch(&path, Some(&farmer), name));
        edits.push(app.patch(&path, Some(&farmer), description));
        edits.push(app.patch(&path, Some(&admins[round % 2]), status));
    }
    for answer in futures_util::future::join_all(edits).await {
        assert!(
            answer.status == 200 || answer.status == 503,
            "{}",
            answer.text
        );
    }
    // Reinstated, so that the public search sees it.
    let last = app
        .patch(&path, Some(&admins[0]), json!({"status": "active"}))
        .await
        .json();
    // The words without diacritics, as a buyer types them.
    let plain = |word: &str| match word {
        "Cúc" => "cuc".to_owned(),
        "vải" => "vai".to_owned(),
        "nhãn" => "nhan".to_owned(),
        "bưởi" => "buoi".to_owned(),
        other => other.to_lowercase(),
    };
    let second_word = |field: &str| plain(last[field].as_str().unwrap().split(' ').nth(1).unwrap());
    let (name_word, description_word) = (second_word("name"), second_word("description"));
    let found = app
        .listed_ids(
            &format!("/households?q={name_word}%20{description_word}"),
            None,
        )
        .await;
    assert_eq!(found, vec![household.clone()], "search text of {last}");
    app.assert_rollups_exact();
}

/// Imported history took no stock, so cancelling an imported open order returns none
/// (it used to add the order's 400 units to a product that had 5).
async fn cancelling_an_imported_open_order_returns_no_stock(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let buyer_email = format!("buyer-{}@example.vn", uuid::Uuid::new_v4().simple());
    assert_eq!(app.register(&buyer_email, "buyer").await.status, 201);
    let buyer = app
        .login(&buyer_email, crate::helpers::PASSWORD)
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (farmer, household, product) = app.seller_with_product(5, json!({})).await;
    let history = [
        json!({"kind": "order", "household": household, "placed_at": "2026-11-30T03:00:00Z",
               "status": "placed", "buyer_email": buyer_email,
               "items": [{"product": product, "quantity": 400, "unit_price_vnd": 30000}]}),
    ];
    let imported = app.import(&admin, ndjson_lines(&history)).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    let orders = app.get("/orders", Some(&buyer)).await.json();
    assert_eq!(orders["total"], 1, "{orders}");
    let order = orders["items"][0]["id"].as_str().unwrap().to_owned();

    let cancelled = app
        .post(&format!("/orders/{order}/cancel"), Some(&buyer), json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(app.stock_of(&farmer, &product).await, 5);

    // A live order still gets its stock back when cancelled.
    let live = app
        .place_order(
            &buyer,
            json!([{"product_id": product, "quantity": 3}]),
            None,
        )
        .await;
    assert_eq!(live.status, 201, "{}", live.text);
    assert_eq!(app.stock_of(&farmer, &product).await, 2);
    let id = live.json()["id"].as_str().unwrap().to_owned();
    let cancelled = app
        .post(&format!("/orders/{id}/cancel"), Some(&buyer), json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(app.stock_of(&farmer, &product).await, 5);
    app.assert_rollups_exact();
}

/// The heaviest order there is: 1,000 units of 10^9 g (an order weighs at most 10^12 g).
const GRAMS_PER_ORDER: i64 = 1_000_000_000_000;

/// A household whose one product is the heaviest order, stock for three such orders.
async fn heavy_product(app: &TestApp, farmer: &str, name: &str) -> (String, String) {
    let household = id(&app.household(farmer, name, "24").await);
    let free = app
        .patch(
            &format!("/households/{household}"),
            Some(farmer),
            json!({"free_shipping_from_vnd": 1}),
        )
        .await;
    assert_eq!(free.status, 200, "{}", free.text);
    let fields = json!({"unit_weight_grams": 1_000_000_000, "stock_quantity": 3000,
                        "price_vnd": 1, "unit": "tấn"});
    let product = id(&app.product(farmer, &household, fields).await);
    (household, product)
}

async fn order_heaviest(app: &TestApp, buyer: &str, product: &str) -> Answer {
    app.place_order(
        buyer,
        json!([{"product_id": product, "quantity": 1000}]),
        None,
    )
    .await
}

/// Runs statements on the test's database from outside the server.
fn run_sql(app: &TestApp, sql: &str) {
    use diesel::connection::SimpleConnection;
    match app.database.backend {
        Backend::Sqlite => SqliteConnection::establish(&app.database.url)
            .unwrap()
            .batch_execute(sql),
        Backend::Postgres => PgConnection::establish(&app.database.url)
            .unwrap()
            .batch_execute(sql),
    }
    .unwrap();
}

/// Weights and values are summed in 64 bits. An order that would push a total past that is
/// refused (422 `value_out_of_range`, its stock untouched) instead of failing with a 500 or
/// storing a wrapped or rounded total; a report whose sum would pass it answers the same 422.
///
/// One order weighs at most 10^12 g, so it takes millions of them to fill a day's row: the test
/// fills today's weight rows by SQL to just below that (as such a history would leave them).
async fn totals_past_64_bits_are_refused_never_wrapped(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    let (first, first_product) = heavy_product(&app, &farmer, "Hộ thứ nhất").await;
    let (second, _) = heavy_product(&app, &farmer, "Hộ thứ hai").await;
    let placed = order_heaviest(&app, &buyer, &first_product).await;
    assert_eq!(placed.status, 201, "{}", placed.text);

    // Each row of today's weight one order short of 2^63 g, for both households and for at
    // least two of the platform's rows (their sum passes 64 bits).
    let nearly_full = i64::MAX - GRAMS_PER_ORDER + 1;
    run_sql(
        &app,
        &format!(
            "UPDATE stats_household_days SET weight_grams = {nearly_full} \
                 WHERE household_id IN ('{first}', '{second}');
             INSERT INTO stats_days (day, shard) SELECT day, 1000 + shard FROM stats_days;
             UPDATE stats_days SET weight_grams = {nearly_full};"
        ),
    );

    // The household's next order would pass 64 bits: refused, its stock untouched.
    order_heaviest(&app, &buyer, &first_product)
        .await
        .assert_problem(422, "value_out_of_range");
    assert_eq!(app.stock_of(&farmer, &first_product).await, 2000);

    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    for path in [
        format!("/reports/uptake?from={today}&to={today}&compare=none"),
        format!("/reports/uptake/breakdown?from={today}&to={today}&compare=none&by=province"),
        format!("/reports/uptake/chart.svg?from={today}&to={today}&metric=volume_kg"),
    ] {
        app.get(&path, Some(&admin))
            .await
            .assert_problem(422, "value_out_of_range");
    }
    // Each household's own total still fits, and is exact.
    let by_household = app
        .get(
            &format!("/reports/uptake/breakdown?from={today}&to={today}&compare=none&by=household"),
            Some(&admin),
        )
        .await;
    assert_eq!(by_household.status, 200, "{}", by_household.text);
    let volumes: Vec<f64> = by_household.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["metrics"]["volume_kg"]["current"].as_f64().unwrap())
        .collect();
    assert_eq!(volumes, [nearly_full as f64 / 1000.0; 2], "{volumes:?}");
}

mod slow_writes {
    use super::*;

    /// Holds the product's row (PostgreSQL) or the database's write lock (SQLite) from another
    /// connection for `hold`, so that writes reaching it wait.
    fn hold_the_database(
        app: &TestApp,
        product: &str,
        hold: Duration,
    ) -> std::thread::JoinHandle<()> {
        let (url, product, backend) = (
            app.database.url.clone(),
            product.to_owned(),
            app.database.backend,
        );
        let (held, is_held) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || match backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&url).unwrap();
                diesel::sql_query("BEGIN").execute(&mut conn).unwrap();
                diesel::sql_query(format!(
                    "SELECT id FROM products WHERE id = '{product}' FOR UPDATE"
                ))
                .execute(&mut conn)
                .unwrap();
                held.send(()).unwrap();
                std::thread::sleep(hold);
                diesel::sql_query("COMMIT").execute(&mut conn).unwrap();
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&url).unwrap();
                diesel::sql_query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .unwrap();
                held.send(()).unwrap();
                std::thread::sleep(hold);
                diesel::sql_query("COMMIT").execute(&mut conn).unwrap();
            }
        });
        is_held.recv().unwrap();
        holder
    }

    with_each_backend!(a_write_past_the_request_timeout_is_finished_or_never_made);

    /// Orders that wait on a held database past `server.request_timeout`: an order answered
    /// 503 must not have been stored (a client retrying it would order twice), and an order
    /// whose write has started is let finish and answers 201.
    async fn a_write_past_the_request_timeout_is_finished_or_never_made(backend: Backend) {
        let Some(app) = spawn_app_with(backend, |settings| {
            settings.server.request_timeout = Duration::from_secs(1);
            settings.database.sqlite_busy_timeout = Duration::from_secs(10);
        })
        .await
        else {
            return;
        };
        const START: i64 = 50;
        let (farmer, _, product) = app.seller_with_product(START, json!({})).await;
        let buyer = app.signed_in("buyer").await;
        let holder = hold_the_database(&app, &product, Duration::from_secs(3));
        let orders = (0..6).map(|_| {
            place_order_at(
                &app.client,
                &app.address,
                &buyer,
                json!({"items": [{"product_id": product, "quantity": 1}], "shipping": shipping("VN")}),
                None,
            )
        });
        let answers = futures_util::future::join_all(orders).await;
        holder.join().unwrap();
        let mut created: i64 = 0;
        for answer in &answers {
            match answer.status.as_u16() {
                201 => created += 1,
                503 => {
                    answer.assert_problem(503, "unavailable");
                }
                _ => panic!("unexpected answer: {}", answer.text),
            }
        }
        // On PostgreSQL the orders that got a connection start their transactions and wait on
        // the product's row: they finish. On SQLite the orders wait for the write lock before
        // they start, and those waiting for a connection wait before they start: given up.
        if backend == Backend::Postgres {
            assert!(created > 0, "{answers:?}");
        }
        // Whatever was still running after the answers has ended by now.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stored = app.get("/orders?per_page=1", Some(&buyer)).await.json();
        assert_eq!(
            stored["total"], created,
            "orders stored beyond those answered 201"
        );
        assert_eq!(app.stock_of(&farmer, &product).await, START - created);
    }
}
