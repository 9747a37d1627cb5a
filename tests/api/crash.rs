//! Failure: a server killed with SIGKILL under load (buyers ordering while the farmer edits the
//! listing) loses no answered order and leaves stock and rollups consistent; logs never carry
//! secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{PASSWORD, ServerProcess, TestApp, buyers, shipping};
use crate::on_both_backends;

on_both_backends!(
    a_killed_server_loses_no_answered_order,
    a_killed_server_leaves_every_checkout_whole,
    logs_never_carry_passwords_or_tokens
);

/// Posts to `path` in a loop until told to stop, the body of each round from `body`; returns the
/// answers 201 with their round. A refused connection (the server killed) is tried again.
async fn keep_posting(
    client: reqwest::Client,
    url: String,
    token: String,
    stop: Arc<AtomicBool>,
    body: impl Fn(i64) -> Value,
) -> Vec<(Value, i64)> {
    let mut created = Vec::new();
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let sent = client
            .post(&url)
            .bearer_auth(&token)
            .json(&body(round))
            .send()
            .await;
        let Ok(response) = sent else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let status = response.status().as_u16();
        let Ok(text) = response.text().await else {
            continue;
        };
        assert_ne!(status, 500, "{text}");
        if status == 201 {
            created.push((serde_json::from_str(&text).unwrap(), round));
        }
    }
    created
}

/// One to three units, by round.
fn units(round: i64) -> i64 {
    (round - 1) % 3 + 1
}

/// Places orders in a loop until told to stop; returns the orders answered 201 (id, quantity).
async fn keep_ordering(
    client: reqwest::Client,
    address: String,
    token: String,
    product: String,
    stop: Arc<AtomicBool>,
) -> Vec<(String, i64)> {
    let body = |round| json!({"items": [{"product_id": product, "quantity": units(round)}], "shipping": shipping("VN")});
    let url = format!("{address}/api/v1/orders");
    keep_posting(client, url, token, stop, body)
        .await
        .into_iter()
        .map(|(order, round)| (order["id"].as_str().unwrap().to_owned(), units(round)))
        .collect()
}

/// The farmer edits the listing's price and description in a loop until told to stop (an edit
/// must never undo an order, killed server or not).
async fn keep_editing(
    client: reqwest::Client,
    address: String,
    token: String,
    product: String,
    stop: Arc<AtomicBool>,
) {
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let body = json!({"price_vnd": 30_000 + round % 50, "description": format!("Lứa {round}")});
        let sent = client
            .patch(format!("{address}/api/v1/products/{product}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(response) => assert_ne!(response.status().as_u16(), 500),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A product's stock as the server at `address` shows it.
async fn stock_at(app: &TestApp, address: &str, product: &str) -> i64 {
    let product: Value = app
        .client
        .get(format!("{address}/api/v1/products/{product}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    product["stock_quantity"].as_i64().unwrap()
}

async fn stored_orders(app: &TestApp, address: &str, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let url = format!("{address}/api/v1/orders?per_page=100&page={page}");
        let body: Value = app
            .client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = body["items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        all.extend(items);
    }
    all
}

/// Three rounds of: a server started on the test's database, one load per buyer token and one
/// `beside` them (the farmer's edits), killed with SIGKILL mid-load. Returns what the buyers'
/// loads saw answered.
async fn under_three_kills<T, Load, LoadRun, Beside, BesideRun>(
    app: &TestApp,
    tokens: &[String],
    load: Load,
    beside: Beside,
) -> Vec<T>
where
    T: Send + 'static,
    Load: Fn(String, String, Arc<AtomicBool>) -> LoadRun,
    LoadRun: std::future::Future<Output = Vec<T>> + Send + 'static,
    Beside: Fn(String, Arc<AtomicBool>) -> BesideRun,
    BesideRun: std::future::Future<Output = ()> + Send + 'static,
{
    let mut answered = Vec::new();
    for kill in 0..3 {
        let mut server = ServerProcess::start(&app.database.url);
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = tokens
            .iter()
            .map(|token| tokio::spawn(load(server.address.clone(), token.clone(), stop.clone())))
            .collect();
        let besides = tokio::spawn(beside(server.address.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_millis(600 + 200 * kill)).await;
        server.child.kill().expect("SIGKILL"); // kill() sends SIGKILL
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            answered.extend(worker.await.unwrap());
        }
        besides.await.unwrap();
    }
    answered
}

async fn a_killed_server_loses_no_answered_order(app: TestApp) {
    const START: i64 = 100_000;
    let (owner, _, product) = app.seller_with_product(START, json!({})).await;
    let tokens = buyers(&app, 8).await;
    app.server.stop().await;
    let client = &app.client;
    let answered = under_three_kills(
        &app,
        &tokens,
        |address, token, stop| keep_ordering(client.clone(), address, token, product.clone(), stop),
        |address, stop| {
            keep_editing(
                client.clone(),
                address,
                owner.clone(),
                product.clone(),
                stop,
            )
        },
    )
    .await;
    assert!(
        answered.len() > 10,
        "the load placed orders before the kills: {}",
        answered.len()
    );

    let server = ServerProcess::start(&app.database.url);
    let stored = stored_orders(&app, &server.address, &owner).await;
    let stored_ids: std::collections::HashSet<&str> =
        stored.iter().map(|o| o["id"].as_str().unwrap()).collect();
    for (id, _) in &answered {
        assert!(
            stored_ids.contains(id.as_str()),
            "order {id} was answered 201 but is gone"
        );
    }
    let sold: i64 = stored
        .iter()
        .map(|o| o["items"][0]["quantity"].as_i64().unwrap())
        .sum();
    let left = stock_at(&app, &server.address, &product).await;
    assert_eq!(
        left + sold,
        START,
        "stock left + units sold = stock at start"
    );
    app.assert_rollups_exact();
}

/// Checks out carts across three farms in a loop until told to stop; returns the checkouts
/// answered 201 (id, and the quantity of each of the three products).
async fn keep_checking_out(
    client: reqwest::Client,
    address: String,
    token: String,
    products: Vec<String>,
    stop: Arc<AtomicBool>,
) -> Vec<(String, [i64; 3])> {
    let quantities = |round: i64| [units(round), units(round + 1), units(round + 2)];
    let body = |round: i64| {
        let items: Vec<Value> = products
            .iter()
            .zip(quantities(round))
            .map(|(p, q)| json!({"product_id": p, "quantity": q}))
            .collect();
        let method = if round % 2 == 0 {
            "cod"
        } else {
            "bank_transfer"
        };
        json!({"items": items, "shipping": shipping("VN"), "payment_method": method})
    };
    let url = format!("{address}/api/v1/checkouts");
    keep_posting(client, url, token, stop, body)
        .await
        .into_iter()
        .map(|(checkout, round)| {
            (
                checkout["id"].as_str().unwrap().to_owned(),
                quantities(round),
            )
        })
        .collect()
}

/// SIGKILL while buyers check out carts across three farms: every checkout answered 201 is there
/// with its three orders, no order stands without its checkout's others, the stock adds up, and
/// the books and statistics agree with the rows.
async fn a_killed_server_leaves_every_checkout_whole(app: TestApp) {
    const START: i64 = 100_000;
    let farmer = app.signed_in("farmer").await;
    let mut products = Vec::new();
    for province in ["24", "01", "79"] {
        let household = app
            .household(&farmer, &format!("Hộ {province}"), province)
            .await;
        let household = household["id"].as_str().unwrap().to_owned();
        let product = app
            .product(&farmer, &household, json!({"stock_quantity": START}))
            .await;
        products.push(product["id"].as_str().unwrap().to_owned());
    }
    let tokens = buyers(&app, 6).await;
    app.server.stop().await;
    let client = &app.client;
    let answered = under_three_kills(
        &app,
        &tokens,
        |address, token, stop| {
            keep_checking_out(client.clone(), address, token, products.clone(), stop)
        },
        |_, _| async {},
    )
    .await;
    assert!(
        answered.len() > 10,
        "checkouts before the kills: {}",
        answered.len()
    );

    let server = ServerProcess::start(&app.database.url);
    let stored = stored_orders(&app, &server.address, &farmer).await;
    // Every stored order belongs to a checkout of exactly three orders.
    let mut by_checkout: std::collections::HashMap<&str, Vec<&Value>> = Default::default();
    for order in &stored {
        by_checkout
            .entry(order["checkout_id"].as_str().unwrap())
            .or_default()
            .push(order);
    }
    assert!(by_checkout.values().all(|orders| orders.len() == 3));
    for (id, quantities) in &answered {
        let orders = by_checkout
            .get(id.as_str())
            .unwrap_or_else(|| panic!("checkout {id} was answered 201 but is gone"));
        let mut units: Vec<i64> = orders
            .iter()
            .map(|o| o["items"][0]["quantity"].as_i64().unwrap())
            .collect();
        units.sort_unstable();
        let mut expected = quantities.to_vec();
        expected.sort_unstable();
        assert_eq!(units, expected);
    }
    for product in &products {
        let sold: i64 = stored
            .iter()
            .filter(|o| o["items"][0]["product_id"] == product.as_str())
            .map(|o| o["items"][0]["quantity"].as_i64().unwrap())
            .sum();
        assert_eq!(stock_at(&app, &server.address, product).await + sold, START);
    }
    app.assert_rollups_exact();
    app.assert_ledger_balances();
}

async fn logs_never_carry_passwords_or_tokens(app: TestApp) {
    app.server.stop().await;
    let mut server = ServerProcess::start(&app.database.url);
    let client = &app.client;
    let base = format!("{}/api/v1", server.address);
    let secret_password = "Bí-mật-tuyệt-đối-123";
    let registered = client.post(format!("{base}/auth/register"))
        .json(&json!({"email": "kin@example.vn", "password": secret_password, "full_name": "Kín", "role": "buyer"}))
        .send().await.unwrap();
    assert_eq!(registered.status(), 201);
    let wrong = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": "kin@example.vn", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let login: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": "kin@example.vn", "password": secret_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let token_hash = hex::encode(Sha256::digest(token.as_bytes()));
    assert_eq!(
        client
            .get(format!("{base}/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(format!("{base}/me?token={}", "x"))
            .bearer_auth("nst_garbage")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .post(format!("{base}/auth/logout"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    server.terminate();
    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains("/api/v1/auth/login"),
        "requests are logged: {log}"
    );
    for secret in [
        secret_password,
        PASSWORD,
        token.as_str(),
        token_hash.as_str(),
        &token[4..],
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}
