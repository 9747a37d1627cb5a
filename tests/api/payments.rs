//! Checkouts across farms, paid by VietQR bank transfer or cash on delivery, and the money's way
//! to the farms: bank notifications, expiry of unpaid transfers, the ledger and payouts.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use nongsan::checkout::vietqr;
use nongsan::payments::model::sign;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::{on_both_backends, with_each_backend};

/// Xã Lục Ngạn: current province 24 (Bắc Ninh, north).
const LUC_NGAN: &str = "07582";

fn cart(items: Value, payment_method: &str) -> Value {
    json!({
        "items": items,
        "shipping": {"recipient_name": "Trần Thị Hoa", "phone": "0987 654 321",
                     "address": "Thôn Kép", "commune_code": LUC_NGAN},
        "payment_method": payment_method,
    })
}

impl TestApp {
    async fn checkout(&self, token: &str, body: Value, key: Option<&str>) -> Answer {
        let mut request = self
            .client
            .post(self.url("/checkouts"))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        send(request).await
    }

    /// Sends a bank-statement line signed with `secret` (`None`: unsigned).
    async fn bank_notification(&self, line: &Value, secret: Option<&str>) -> Answer {
        let body = serde_json::to_vec(line).unwrap();
        let mut request = self
            .client
            .post(self.url("/payments/bank-notifications"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(secret) = secret {
            request = request.header("X-Signature", sign(secret, &body));
        }
        send(request).await
    }

    async fn pay(&self, transaction_id: &str, amount: i64, description: &str) -> Value {
        let line = json!({"transaction_id": transaction_id, "amount_vnd": amount,
                          "description": description, "credited_at": "2026-12-01T09:30:00+07:00"});
        let answer = self.bank_notification(&line, Some(BANK_SECRET)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()
    }

    async fn order_move(&self, token: &str, order: &str, verb: &str) {
        let answer = self
            .post_empty(&format!("/orders/{order}/{verb}"), Some(token))
            .await;
        assert_eq!(answer.status, 200, "{verb}: {}", answer.text);
    }

    async fn ledger(&self, token: &str, household: &str) -> Value {
        let answer = self
            .get(&format!("/households/{household}/ledger"), Some(token))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()
    }

    async fn payout(&self, admin: &str, key: &str) -> Answer {
        send(
            self.client
                .post(self.url("/admin/payouts"))
                .bearer_auth(admin)
                .header("Idempotency-Key", key),
        )
        .await
    }

    /// `n` checkouts of these quantities of the products, each answered 201.
    async fn checkouts(
        &self,
        buyer: &str,
        products: &[String],
        quantities: &[i64],
        method: &str,
        n: usize,
    ) -> Vec<Value> {
        let mut placed = Vec::new();
        for _ in 0..n {
            let answer = self
                .checkout(buyer, cart(lines(products, quantities), method), None)
                .await;
            assert_eq!(answer.status, 201, "{}", answer.text);
            placed.push(answer.json());
        }
        placed
    }

    /// The households' owner gives each of them a payout account at one bank.
    async fn give_payout_accounts(&self, farmer: &str, households: &[String], account: &str) {
        for household in households {
            let answer = self
                .patch(
                    &format!("/households/{household}"),
                    Some(farmer),
                    json!({"payout_account": {"bank_bin": "970436", "account_number": account}}),
                )
                .await;
            assert_eq!(answer.status, 200, "{}", answer.text);
        }
    }
}

/// Three farms (Bắc Giang, Hà Nội, Sài Gòn on the 2008 map), each with one product of `stock`
/// units; returns the farmer's token, the households and the products.
async fn three_farms(app: &TestApp, stock: [i64; 3]) -> (String, Vec<String>, Vec<String>) {
    let farmer = app.signed_in("farmer").await;
    let mut households = Vec::new();
    let mut products = Vec::new();
    for (n, (province, grams)) in [("24", 500), ("01", 1001), ("79", 1500)]
        .into_iter()
        .enumerate()
    {
        let household = id(&app
            .household(&farmer, &format!("Hộ {province}"), province)
            .await);
        let product = id(&app
            .product(
                &farmer,
                &household,
                json!({"unit_weight_grams": grams, "price_vnd": 10_000 * (n as i64 + 1),
                       "stock_quantity": stock[n]}),
            )
            .await);
        households.push(household);
        products.push(product);
    }
    (farmer, households, products)
}

fn lines(products: &[String], quantities: &[i64]) -> Value {
    Value::Array(
        products
            .iter()
            .zip(quantities)
            .map(|(p, q)| json!({"product_id": p, "quantity": q}))
            .collect(),
    )
}

async fn a_checkout_across_three_farms_is_one_order_each_and_all_or_nothing(app: TestApp) {
    let (farmer, households, products) = three_farms(&app, [10, 10, 10]).await;
    let buyer = app.signed_in("buyer").await;
    let items = lines(&products, &[2, 1, 1]);
    let quote = app
        .post(
            "/shipping/quote",
            None,
            json!({"items": items, "shipping": {"commune_code": LUC_NGAN}}),
        )
        .await
        .json();

    let placed = app
        .checkout(&buyer, cart(items.clone(), "cod"), Some("cart-1"))
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let checkout = placed.json();
    let orders = checkout["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 3);
    for (order, (household, parcel)) in orders
        .iter()
        .zip(households.iter().zip(quote["parcels"].as_array().unwrap()))
    {
        assert_eq!(order["household_id"], *household);
        assert_eq!(order["checkout_id"], checkout["id"]);
        assert_eq!(order["status"], "placed");
        assert_eq!(order["shipping_vnd"], parcel["shipping_vnd"]);
        assert_eq!(order["shipping_zone"], parcel["zone"]);
        assert_eq!(order["total_vnd"], parcel["goods_vnd"]);
    }
    assert_eq!(checkout["goods_vnd"], quote["goods_vnd"]);
    assert_eq!(checkout["shipping_vnd"], quote["shipping_vnd"]);
    assert_eq!(checkout["total_vnd"], quote["total_vnd"]);
    assert_eq!(checkout["payment"]["method"], "cod");
    assert_eq!(checkout["payment"]["bank_transfer"], Value::Null);
    for (product, left) in products.iter().zip([8, 9, 9]) {
        assert_eq!(app.stock_of(&farmer, product).await, left);
    }

    // The same key and body: the same checkout, nothing taken again.
    let replay = app
        .checkout(&buyer, cart(items.clone(), "cod"), Some("cart-1"))
        .await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.json()["id"], checkout["id"]);
    assert_eq!(app.stock_of(&farmer, &products[0]).await, 8);
    // The key with another body is refused.
    app.checkout(
        &buyer,
        cart(lines(&products, &[1, 1, 1]), "cod"),
        Some("cart-1"),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    // So is the same key and body sent to `POST /orders`, which takes one household only: a
    // replay of the whole checkout there would skip that rule.
    let on_orders = send(
        app.client
            .post(app.url("/orders"))
            .bearer_auth(&buyer)
            .header("Idempotency-Key", "cart-1")
            .json(&cart(items.clone(), "cod")),
    )
    .await;
    on_orders.assert_problem(422, "idempotency_key_reused");

    // Its buyer and admins see it; another buyer does not.
    let path = format!("/checkouts/{}", id(&checkout));
    assert_eq!(app.get(&path, Some(&buyer)).await.json(), checkout);
    let admin = app.signed_in_admin().await;
    assert_eq!(app.get(&path, Some(&admin)).await.status, 200);
    let stranger = app.signed_in("buyer").await;
    app.get(&path, Some(&stranger))
        .await
        .assert_problem(404, "not_found");
    app.get(&path, None)
        .await
        .assert_problem(401, "unauthenticated");

    // One short line: nothing of any household is taken, and the answer names that line.
    let short = app
        .checkout(&buyer, cart(lines(&products, &[1, 100, 1]), "cod"), None)
        .await;
    short.assert_problem(409, "insufficient_stock");
    assert_eq!(short.problem_fields(), ["items[1].quantity"]);
    for (product, left) in products.iter().zip([8, 9, 9]) {
        assert_eq!(app.stock_of(&farmer, product).await, left);
    }
    // A farmer cannot check out; POST /orders still takes one household only.
    app.checkout(&farmer, cart(items.clone(), "cod"), None)
        .await
        .assert_problem(403, "forbidden");
    let mixed = app
        .post(
            "/orders",
            Some(&buyer),
            cart(lines(&products, &[1, 1]), "cod"),
        )
        .await;
    mixed.assert_problem(422, "mixed_households");
    app.assert_rollups_exact();
}

async fn forty_buyers_race_for_scarce_stock_while_farmers_edit(app: TestApp) {
    let (farmer, _, products) = three_farms(&app, [10, 15, 40]).await;
    let buyers = buyers(&app, 40).await;
    let carts = buyers.iter().enumerate().map(|(n, buyer)| {
        let app = &app;
        let items = lines(&products, &[1, 1, 1]);
        async move {
            let answer = app
                .checkout(buyer, cart(items, "cod"), Some(&format!("race-{n}")))
                .await;
            (answer.status, answer.json())
        }
    });
    // Meanwhile the farmer edits the same listings: names, prices, descriptions.
    let edits = (0..30).map(|n| {
        let (app, farmer, product) = (&app, &farmer, products[n % 3].clone());
        async move {
            let answer = app
                .patch(
                    &format!("/products/{product}"),
                    Some(farmer),
                    json!({"price_vnd": 10_000 + n as i64, "description": format!("lần sửa {n}")}),
                )
                .await;
            assert_eq!(answer.status, 200, "{}", answer.text);
        }
    });
    let (answers, _) = tokio::join!(join_all(carts), join_all(edits));
    let placed: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(placed.len(), 10, "the scarcest product has 10 units");
    for (status, body) in &answers {
        assert!(*status == 201 || *status == 409, "{status}: {body}");
        if *status == 409 {
            assert_eq!(body["code"], "insufficient_stock");
        }
    }
    for checkout in &placed {
        assert_eq!(
            checkout["orders"].as_array().unwrap().len(),
            3,
            "never a partial checkout"
        );
    }
    for (product, left) in products.iter().zip([0, 5, 30]) {
        assert_eq!(app.stock_of(&farmer, product).await, left);
    }
    app.assert_rollups_exact();
}

/// The payload's fields (id → value) and its merchant account's.
fn payload_fields(payload: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let top = vietqr::decode(payload).expect("a payload with a sound CRC");
    let account = vietqr::fields(&top["38"]).unwrap();
    (top, account)
}

async fn a_bank_transfer_answers_its_vietqr(app: TestApp) {
    let (_, _, products) = three_farms(&app, [10, 10, 10]).await;
    let buyer = app.signed_in("buyer").await;
    let checkout = app
        .checkout(
            &buyer,
            cart(lines(&products, &[1, 1, 1]), "bank_transfer"),
            None,
        )
        .await;
    assert_eq!(checkout.status, 201, "{}", checkout.text);
    let checkout = checkout.json();
    let payment = &checkout["payment"];
    assert_eq!(payment["status"], "unpaid");
    assert_eq!(payment["amount_vnd"], checkout["total_vnd"]);
    assert_eq!(payment["reference"], checkout["code"]);
    assert!(payment["expires_at"].is_string());
    let transfer = &payment["bank_transfer"];
    let (top, account) = payload_fields(transfer["vietqr"].as_str().unwrap());
    assert_eq!(top["00"], "01");
    assert_eq!(top["01"], "12");
    assert_eq!(top["53"], "704");
    assert_eq!(top["54"], checkout["total_vnd"].to_string());
    assert_eq!(top["58"], "VN");
    assert_eq!(
        vietqr::fields(&top["62"]).unwrap()["08"],
        checkout["code"].as_str().unwrap()
    );
    assert_eq!(account["00"], "A000000727");
    assert_eq!(account["02"], "QRIBFTTA");
    let beneficiary = vietqr::fields(&account["01"]).unwrap();
    assert_eq!(beneficiary["00"], transfer["bank_bin"].as_str().unwrap());
    assert_eq!(
        beneficiary["01"],
        transfer["account_number"].as_str().unwrap()
    );

    // The QR as an image, for its buyer only.
    let svg = app
        .get(transfer["qr_svg"].as_str().unwrap(), Some(&buyer))
        .await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.content_type(), "image/svg+xml");
    assert!(
        svg.text.contains("<svg"),
        "{}",
        &svg.text[..100.min(svg.text.len())]
    );
    let stranger = app.signed_in("buyer").await;
    app.get(transfer["qr_svg"].as_str().unwrap(), Some(&stranger))
        .await
        .assert_problem(404, "not_found");
    // Cash on delivery has no QR.
    let cod = app
        .checkout(&buyer, cart(lines(&products, &[1, 1, 1]), "cod"), None)
        .await
        .json();
    app.get(&format!("/checkouts/{}/qr.svg", id(&cod)), Some(&buyer))
        .await
        .assert_problem(404, "not_found");

    // A VietQR carries at most 13 digits: a larger transfer is refused before any stock is
    // taken; so is a cash order past its own bound.
    let farmer = app.signed_in("farmer").await;
    let household = id(&app.household(&farmer, "Hộ bán sỉ", "24").await);
    let costly = id(&app
        .product(
            &farmer,
            &household,
            json!({"price_vnd": 1_000_000_000_000_i64, "stock_quantity": 20}),
        )
        .await);
    let dear = id(&app
        .product(
            &farmer,
            &household,
            json!({"price_vnd": 100_000_000, "stock_quantity": 20}),
        )
        .await);
    // Cash on delivery collects at most `payments.max_cash_on_delivery_vnd` (10^9 by default),
    // goods and shipping together: a buyer cannot place unpaid orders of any size.
    let line =
        |product: &str, quantity: i64| json!([{"product_id": product, "quantity": quantity}]);
    for (items, method) in [
        (line(&costly, 10), "bank_transfer"),
        (line(&costly, 10), "cod"),
        (line(&dear, 10), "cod"),
    ] {
        let refused = app.checkout(&buyer, cart(items, method), None).await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.problem_fields(), ["payment_method"], "{method}");
    }
    assert_eq!(app.stock_of(&farmer, &costly).await, 20);
    let under = app
        .checkout(&buyer, cart(line(&dear, 9), "cod"), None)
        .await;
    assert_eq!(under.status, 201, "{}", under.text);
    assert!(under.json()["total_vnd"].as_i64().unwrap() <= 1_000_000_000);
    assert_eq!(app.stock_of(&farmer, &dear).await, 11);
}

/// A buyer cancels an order of a checkout as its transfer arrives: either the payment came
/// first (the checkout is paid and the cancelled order's price is owed back) or the cancel did
/// (the transfer, now more than asked, is held as over and the checkout stays unpaid).
async fn a_cancel_racing_the_payment_is_refunded_or_not_paid(app: TestApp) {
    let (_, _, products) = three_farms(&app, [100, 100, 100]).await;
    let buyer = app.signed_in("buyer").await;
    let mut outcomes = BTreeMap::new();
    for n in 0..8 {
        let placed = app
            .checkout(
                &buyer,
                cart(lines(&products, &[1, 1, 1]), "bank_transfer"),
                None,
            )
            .await
            .json();
        let cancelled = &placed["orders"][0];
        let price =
            cancelled["total_vnd"].as_i64().unwrap() + cancelled["shipping_vnd"].as_i64().unwrap();
        let cancel_path = format!("/orders/{}/cancel", id(cancelled));
        let total = placed["total_vnd"].as_i64().unwrap();
        let code = placed["code"].as_str().unwrap();
        let transaction = format!("RACE-CANCEL-{n}");
        let (cancel, paid) = futures_util::join!(
            app.post(&cancel_path, Some(&buyer), json!({})),
            app.pay(&transaction, total, code)
        );
        assert_eq!(cancel.status, 200, "{}", cancel.text);
        let seen = app
            .get(&format!("/checkouts/{}", id(&placed)), Some(&buyer))
            .await
            .json();
        let outcome = paid["outcome"].as_str().unwrap().to_owned();
        match outcome.as_str() {
            "matched" => {
                assert_eq!(seen["payment"]["status"], "paid", "{seen}");
                assert_eq!(seen["payment"]["refunds_owed_vnd"], price, "{seen}");
                assert_eq!(seen["orders"][0]["payment_status"], "paid");
            }
            "over" => {
                assert_eq!(seen["payment"]["status"], "unpaid", "{seen}");
                assert_eq!(seen["payment"]["refunds_owed_vnd"], 0);
                assert_eq!(seen["payment"]["amount_vnd"], total - price);
            }
            other => panic!("{other}: {paid}"),
        }
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    println!("cancel racing payment: {outcomes:?}");
    app.assert_ledger_balances();
}

async fn bank_notifications_pay_exact_amounts_and_hold_the_rest(app: TestApp) {
    let (_, _, products) = three_farms(&app, [10, 10, 10]).await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    let checkouts = app
        .checkouts(&buyer, &products, &[1, 1, 1], "bank_transfer", 3)
        .await;
    let code = |n: usize| checkouts[n]["code"].as_str().unwrap().to_owned();
    let total = checkouts[0]["total_vnd"].as_i64().unwrap();
    let unmatched = || async {
        let answer = app.get("/admin/payments/unmatched", Some(&admin)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()
    };

    // Unsigned, wrongly signed or signed over another body: 401 and nothing written.
    let line = json!({"transaction_id": "FT1", "amount_vnd": total,
                      "description": code(0), "credited_at": "2026-12-01T09:30:00Z"});
    app.bank_notification(&line, None)
        .await
        .assert_problem(401, "unauthenticated");
    app.bank_notification(&line, Some("not-the-secret"))
        .await
        .assert_problem(401, "unauthenticated");
    let forged = send(
        app.client
            .post(app.url("/payments/bank-notifications"))
            .header("content-type", "application/json")
            .header("X-Signature", sign(BANK_SECRET, b"{}"))
            .body(serde_json::to_vec(&line).unwrap()),
    )
    .await;
    forged.assert_problem(401, "unauthenticated");
    assert_eq!(unmatched().await["total"], 0);
    let still = app
        .get(&format!("/checkouts/{}", id(&checkouts[0])), Some(&buyer))
        .await
        .json();
    assert_eq!(still["payment"]["status"], "unpaid");
    // Signed but malformed: 422.
    let bad = json!({"transaction_id": "", "amount_vnd": 0, "description": "x", "credited_at": "yesterday"});
    let answer = app.bank_notification(&bad, Some(BANK_SECRET)).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(
        answer.problem_fields(),
        ["transaction_id", "amount_vnd", "credited_at"]
    );

    // The exact amount, the code as the bank writes it: the checkout and its orders are paid.
    let paid = app
        .pay(
            "FT1",
            total,
            &format!("MBVCB.8812.{}.CT tu 0123", code(0).to_lowercase()),
        )
        .await;
    assert_eq!(paid["outcome"], "matched");
    assert_eq!(paid["replayed"], false);
    assert_eq!(paid["checkout_id"], checkouts[0]["id"]);
    let checkout = app
        .get(&format!("/checkouts/{}", id(&checkouts[0])), Some(&buyer))
        .await
        .json();
    assert_eq!(checkout["payment"]["status"], "paid");
    assert!(checkout["payment"]["paid_at"].is_string());
    for order in checkout["orders"].as_array().unwrap() {
        assert_eq!(order["payment_status"], "paid");
    }
    // Paid, it offers no QR any more: scanning it again would pay twice.
    assert!(checkout["payment"]["bank_transfer"].is_null(), "{checkout}");
    app.get(
        &format!("/checkouts/{}/qr.svg", id(&checkouts[0])),
        Some(&buyer),
    )
    .await
    .assert_problem(404, "not_found");
    // The bank sends it again: nothing changes.
    let again = app.pay("FT1", total, &code(0)).await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["outcome"], "matched");
    // A second transfer for a paid checkout, a short one, an over one, an unknown code.
    assert_eq!(app.pay("FT2", total, &code(0)).await["outcome"], "over");
    assert_eq!(
        app.pay("FT3", total - 1, &code(1)).await["outcome"],
        "short"
    );
    assert_eq!(app.pay("FT4", total + 1, &code(2)).await["outcome"], "over");
    assert_eq!(
        app.pay("FT5", total, "tien hang NS0000000000").await["outcome"],
        "unknown"
    );
    assert_eq!(
        app.pay("FT6", total, "chuyen tien").await["outcome"],
        "unknown"
    );
    // Cash on delivery asks nothing by transfer: the exact price sent anyway is over.
    let cod = app
        .checkout(&buyer, cart(lines(&products, &[1, 1, 1]), "cod"), None)
        .await
        .json();
    let cod_code = cod["code"].as_str().unwrap();
    assert_eq!(app.pay("FT8", total, cod_code).await["outcome"], "over");
    for unpaid in [&checkouts[1], &checkouts[2], &cod] {
        let checkout = app
            .get(&format!("/checkouts/{}", id(unpaid)), Some(&buyer))
            .await
            .json();
        assert_eq!(
            checkout["payment"]["status"], "unpaid",
            "a wrong amount pays nothing"
        );
        for order in checkout["orders"].as_array().unwrap() {
            assert_eq!(order["payment_status"], "unpaid");
        }
    }
    let held = unmatched().await;
    assert_eq!(held["total"], 6);
    let mut outcomes: Vec<&str> = held["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["outcome"].as_str().unwrap())
        .collect();
    outcomes.sort_unstable();
    assert_eq!(
        outcomes,
        ["over", "over", "over", "short", "unknown", "unknown"]
    );
    app.get("/admin/payments/unmatched", Some(&buyer))
        .await
        .assert_problem(403, "forbidden");

    // Concurrent duplicates of one line: recorded once.
    let line = json!({"transaction_id": "FT7", "amount_vnd": total,
                      "description": code(1), "credited_at": "2026-12-01T10:00:00Z"});
    let answers = join_all((0..6).map(|_| app.bank_notification(&line, Some(BANK_SECRET)))).await;
    let fresh = answers
        .iter()
        .filter(|a| {
            assert_eq!(a.status, 200, "{}", a.text);
            a.json()["replayed"] == false
        })
        .count();
    assert_eq!(fresh, 1);
    assert!(answers.iter().all(|a| a.json()["outcome"] == "matched"));
    app.assert_ledger_balances();
}

/// A test server and a second one on its database, both expiring unpaid transfers after
/// `expiry` and looking every `interval`.
async fn two_expiring_servers(
    backend: Backend,
    expiry: Duration,
    interval: Duration,
) -> Option<(TestApp, RunningServer)> {
    let tune = move |settings: &mut nongsan::config::Settings| {
        settings.payments.expiry = expiry;
        settings.payments.expiry_check_interval = interval;
    };
    let app = spawn_app_with(backend, tune).await?;
    let mut sibling_settings = test_settings(&app.database.url);
    tune(&mut sibling_settings);
    let sibling = RunningServer::start(sibling_settings).await;
    Some((app, sibling))
}

async fn unpaid_transfers_expire_once_with_two_servers(backend: Backend) {
    let second = Duration::from_secs(2);
    let Some((app, sibling)) =
        two_expiring_servers(backend, second, Duration::from_millis(100)).await
    else {
        return;
    };
    let (farmer, _, products) = three_farms(&app, [10, 20, 20]).await;
    let buyer = app.signed_in("buyer").await;
    let expiring = app
        .checkouts(&buyer, &products, &[1, 2, 3], "bank_transfer", 5)
        .await;
    let paid = app
        .checkout(
            &buyer,
            cart(lines(&products, &[1, 1, 1]), "bank_transfer"),
            None,
        )
        .await
        .json();
    let cod = app
        .checkout(&buyer, cart(lines(&products, &[1, 1, 1]), "cod"), None)
        .await
        .json();
    app.pay(
        "PAID-IN-TIME",
        paid["total_vnd"].as_i64().unwrap(),
        paid["code"].as_str().unwrap(),
    )
    .await;
    for checkout in &expiring {
        let path = format!("/checkouts/{}", id(checkout));
        eventually("the checkout expires", || async {
            app.get(&path, Some(&buyer)).await.json()["payment"]["status"] == "expired"
        })
        .await;
        let expired = app.get(&path, Some(&buyer)).await.json();
        assert!(expired["payment"]["bank_transfer"].is_null(), "{expired}");
        for order in expired["orders"].as_array().unwrap() {
            assert_eq!(order["status"], "cancelled");
            assert_eq!(
                order["cancel_reason"],
                "the bank transfer did not arrive in time"
            );
        }
    }
    // Both servers looked; each checkout's stock came back exactly once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (product, left) in products.iter().zip([8, 18, 18]) {
        assert_eq!(app.stock_of(&farmer, product).await, left);
    }
    for kept in [&paid, &cod] {
        let checkout = app
            .get(&format!("/checkouts/{}", id(kept)), Some(&buyer))
            .await
            .json();
        assert_ne!(checkout["payment"]["status"], "expired");
        assert!(
            checkout["orders"]
                .as_array()
                .unwrap()
                .iter()
                .all(|o| o["status"] == "placed")
        );
    }
    // Money for an expired checkout is held as late.
    let late = app
        .pay(
            "LATE",
            expiring[0]["total_vnd"].as_i64().unwrap(),
            expiring[0]["code"].as_str().unwrap(),
        )
        .await;
    assert_eq!(late["outcome"], "late");
    sibling.stop().await;
    app.assert_rollups_exact();
    app.assert_ledger_balances();
}

async fn delivered_orders_pay_their_farms_less_the_commission(app: TestApp) {
    let (farmer, households, products) = three_farms(&app, [10, 10, 10]).await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    // Two households give a bank account; the third does not.
    app.give_payout_accounts(&farmer, &households[..2], "0071 0001 2345")
        .await;
    let bad = app
        .patch(
            &format!("/households/{}", households[2]),
            Some(&farmer),
            json!({"payout_account": {"bank_bin": "97", "account_number": "x-1"}}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(
        bad.problem_fields(),
        ["payout_account.bank_bin", "payout_account.account_number"]
    );

    let checkout = app
        .checkout(&buyer, cart(lines(&products, &[2, 1, 1]), "cod"), None)
        .await
        .json();
    let transfer = app
        .checkout(
            &buyer,
            cart(lines(&products, &[1, 1, 1]), "bank_transfer"),
            None,
        )
        .await
        .json();
    app.pay(
        "FT-1",
        transfer["total_vnd"].as_i64().unwrap(),
        transfer["code"].as_str().unwrap(),
    )
    .await;
    // Deliver every order of both; cancel nothing.
    for placed in [&checkout, &transfer] {
        for order in placed["orders"].as_array().unwrap() {
            let order = id(order);
            for verb in ["confirm", "ship", "deliver"] {
                app.order_move(&farmer, &order, verb).await;
            }
        }
    }
    // Each household is owed its goods less 5% (rounded down), on both checkouts.
    let goods = |placed: &Value, n: usize| placed["orders"][n]["total_vnd"].as_i64().unwrap();
    let mut owed = Vec::new();
    for (n, household) in households.iter().enumerate() {
        let expected: i64 = [&checkout, &transfer]
            .iter()
            .map(|placed| goods(placed, n) - goods(placed, n) * 5 / 100)
            .sum();
        let ledger = app.ledger(&farmer, household).await;
        assert_eq!(ledger["balance_vnd"], expected, "{ledger}");
        assert_eq!(ledger["total"], 2);
        assert!(
            ledger["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["kind"] == "share_payable")
        );
        owed.push(expected);
    }
    let stranger = app.signed_in("farmer").await;
    app.get(
        &format!("/households/{}/ledger", households[0]),
        Some(&stranger),
    )
    .await
    .assert_problem(403, "forbidden");

    // One batch pays the two with accounts; the same key again pays nothing more.
    send(
        app.client
            .post(app.url("/admin/payouts"))
            .bearer_auth(&admin),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.payout(&buyer, "batch-1")
        .await
        .assert_problem(403, "forbidden");
    // Two admins at once, with different keys: the balances are paid once, by one of them.
    let (first, second) =
        futures_util::join!(app.payout(&admin, "batch-1"), app.payout(&admin, "batch-0"));
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(second.status, 201, "{}", second.text);
    let (first, second) = (first.json(), second.json());
    let mut totals = [first["total_vnd"].clone(), second["total_vnd"].clone()];
    totals.sort_by_key(|t| t.as_i64());
    assert_eq!(totals, [json!(0), json!(owed[0] + owed[1])]);
    let batch = if first["total_vnd"] == 0 {
        second
    } else {
        first.clone()
    };
    let paid: Vec<(&str, i64)> = batch["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            assert_eq!(line["account_number"], "007100012345");
            (
                line["household_id"].as_str().unwrap(),
                line["amount_vnd"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(paid.len(), 2);
    assert!(paid.contains(&(households[0].as_str(), owed[0])));
    assert!(paid.contains(&(households[1].as_str(), owed[1])));
    assert_eq!(batch["without_account"][0]["household_id"], households[2]);
    assert_eq!(batch["without_account"][0]["balance_vnd"], owed[2]);
    let replay = app.payout(&admin, "batch-1").await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.json()["id"], first["id"]);
    let next = app.payout(&admin, "batch-2").await.json();
    assert_eq!(next["total_vnd"], 0, "{next}");
    for (n, household) in households.iter().enumerate() {
        let ledger = app.ledger(&admin, household).await;
        let left = if n < 2 { 0 } else { owed[2] };
        assert_eq!(ledger["balance_vnd"], left);
    }
    let payout = app.ledger(&farmer, &households[0]).await;
    assert_eq!(payout["items"][0]["kind"], "payout");
    assert_eq!(payout["items"][0]["amount_vnd"], -owed[0]);

    // The reports: goods stay the transaction value; shipping, commission and payouts beside it.
    let sum = |field: &str| -> i64 {
        [&checkout, &transfer]
            .iter()
            .flat_map(|placed| placed["orders"].as_array().unwrap())
            .map(|order| order[field].as_i64().unwrap())
            .sum()
    };
    let goods_total = sum("total_vnd");
    let commission: i64 = goods_total - owed.iter().sum::<i64>();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    let report = app
        .get(
            &format!("/reports/uptake?from={today}&to={today}&compare=none"),
            Some(&admin),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let metrics = &report.json()["metrics"];
    assert_eq!(metrics["transaction_value_vnd"]["current"], goods_total);
    assert_eq!(metrics["shipping_fees_vnd"]["current"], sum("shipping_vnd"));
    assert!(sum("shipping_vnd") > 0);
    assert_eq!(metrics["commission_vnd"]["current"], commission);
    assert_eq!(metrics["payouts_vnd"]["current"], owed[0] + owed[1]);
    let by_household = app
        .get(
            &format!("/reports/uptake/breakdown?from={today}&to={today}&compare=none&by=household"),
            Some(&admin),
        )
        .await
        .json();
    for row in by_household["rows"].as_array().unwrap() {
        let n = households
            .iter()
            .position(|h| row["key"] == h.as_str())
            .unwrap_or_else(|| panic!("{row}"));
        let paid = if n < 2 { owed[n] } else { 0 };
        assert_eq!(row["metrics"]["payouts_vnd"]["current"], paid, "{row}");
    }
    app.assert_rollups_exact();

    // The bank's file: a household's name that looks like a formula stays text.
    let renamed = app
        .patch(
            &format!("/households/{}", households[0]),
            Some(&farmer),
            json!({"name": "=HYPERLINK(\"http://x\")"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let file = app
        .get(batch["bank_file"].as_str().unwrap(), Some(&admin))
        .await;
    assert_eq!(file.status, 200);
    assert!(file.content_type().starts_with("text/csv"));
    let rows: Vec<&str> = file.text.lines().collect();
    assert_eq!(
        rows[0],
        "household_id,household_name,bank_bin,account_number,amount_vnd,reference"
    );
    assert_eq!(rows.len(), 3);
    assert!(
        file.text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "{}",
        file.text
    );
    assert!(
        rows[1..]
            .iter()
            .all(|row| row.contains(",970436,007100012345,"))
    );
    app.assert_ledger_balances();
}

/// An order as the money model follows it.
struct ModelOrder {
    id: String,
    household: usize,
    goods: i64,
    shipping: i64,
    status: &'static str,
    /// Paid by the checkout's transfer, or in cash when delivered.
    paid: bool,
}

/// A checkout as the money model follows it.
struct ModelCheckout {
    id: String,
    code: String,
    cod: bool,
    paid: bool,
    orders: Vec<ModelOrder>,
}

impl ModelCheckout {
    /// What a transfer must bring: the goods and shipping of its orders still standing.
    fn due(&self) -> i64 {
        self.orders
            .iter()
            .filter(|o| o.status != "cancelled")
            .map(|o| o.goods + o.shipping)
            .sum()
    }
}

/// The status an order moves to, as the contract's table says; `None`: 409.
fn next_status(from: &str, verb: &str) -> Option<&'static str> {
    match (verb, from) {
        ("confirm", "placed") => Some("confirmed"),
        ("ship", "confirmed") => Some("shipped"),
        ("deliver", "shipped") => Some("delivered"),
        // Cancelled by an admin: anything but delivered (or cancelled already).
        ("cancel", "placed" | "confirmed" | "shipped") => Some("cancelled"),
        _ => None,
    }
}

/// A seeded random run of checkouts (cash or transfer), exact, short and over payments, order
/// moves and cancellations, and payouts. A model of the contract predicts every answer, each
/// payout's lines and each household's balance; the books balance at the end.
async fn random_money_sequences_keep_the_books_balanced(app: TestApp) {
    use rand::{Rng, SeedableRng};
    let (farmer, households, products) = three_farms(&app, [100_000; 3]).await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    app.give_payout_accounts(&farmer, &households[..2], "12345")
        .await;
    let seed: u64 = std::env::var("NONGSAN_LEDGER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_202);
    println!("ledger sequence seed {seed} (set NONGSAN_LEDGER_SEED to replay)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut checkouts: Vec<ModelCheckout> = Vec::new();
    let mut paid_out = [0_i64; 3];
    let mut transaction = 0;
    // What each household has earned so far: its delivered orders that are paid, less 5%.
    let earned = |checkouts: &[ModelCheckout]| {
        let mut earned = [0_i64; 3];
        for checkout in checkouts {
            for order in &checkout.orders {
                if order.status == "delivered" && (checkout.cod || checkout.paid) {
                    earned[order.household] += order.goods - order.goods * 5 / 100;
                }
            }
        }
        earned
    };
    for step in 0..120 {
        match rng.gen_range(0..10) {
            0..=2 => {
                let mut quantities: Vec<i64> = (0..3).map(|_| rng.gen_range(0..=2)).collect();
                if quantities.iter().all(|q| *q == 0) {
                    quantities[rng.gen_range(0..3)] = 1;
                }
                let chosen: Vec<(String, i64)> = products
                    .iter()
                    .cloned()
                    .zip(quantities)
                    .filter(|(_, q)| *q > 0)
                    .collect();
                let items: Vec<Value> = chosen
                    .iter()
                    .map(|(p, q)| json!({"product_id": p, "quantity": q}))
                    .collect();
                let cod = rng.gen_bool(0.5);
                let method = if cod { "cod" } else { "bank_transfer" };
                let answer = app.checkout(&buyer, cart(json!(items), method), None).await;
                assert_eq!(answer.status, 201, "step {step}: {}", answer.text);
                let placed = answer.json();
                let orders = placed["orders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|order| ModelOrder {
                        id: id(order),
                        household: households
                            .iter()
                            .position(|h| order["household_id"] == h.as_str())
                            .unwrap(),
                        goods: order["total_vnd"].as_i64().unwrap(),
                        shipping: order["shipping_vnd"].as_i64().unwrap(),
                        status: "placed",
                        paid: false,
                    })
                    .collect();
                checkouts.push(ModelCheckout {
                    id: id(&placed),
                    code: placed["code"].as_str().unwrap().to_owned(),
                    cod,
                    paid: false,
                    orders,
                });
            }
            3..=4 => {
                let unpaid: Vec<usize> = (0..checkouts.len())
                    .filter(|&n| !checkouts[n].cod && !checkouts[n].paid && checkouts[n].due() > 0)
                    .collect();
                if unpaid.is_empty() {
                    continue;
                }
                let checkout = &mut checkouts[unpaid[rng.gen_range(0..unpaid.len())]];
                let due = checkout.due();
                let (amount, outcome) = match rng.gen_range(0..4) {
                    0 => (due - 1, "short"),
                    1 => (due + 1000, "over"),
                    _ => (due, "matched"),
                };
                transaction += 1;
                let answer = app
                    .pay(&format!("FT-{transaction}"), amount, &checkout.code)
                    .await;
                assert_eq!(answer["outcome"], outcome, "step {step}: {answer}");
                if outcome == "matched" {
                    checkout.paid = true;
                    for order in checkout
                        .orders
                        .iter_mut()
                        .filter(|o| o.status != "cancelled")
                    {
                        order.paid = true;
                    }
                }
            }
            5..=8 => {
                let open: Vec<(usize, usize)> = checkouts
                    .iter()
                    .enumerate()
                    .flat_map(|(c, checkout)| (0..checkout.orders.len()).map(move |o| (c, o)))
                    .filter(|&(c, o)| {
                        !["delivered", "cancelled"].contains(&checkouts[c].orders[o].status)
                    })
                    .collect();
                if open.is_empty() {
                    continue;
                }
                let (c, o) = open[rng.gen_range(0..open.len())];
                let cod = checkouts[c].cod;
                let order = &mut checkouts[c].orders[o];
                // Mostly the order's next step, sometimes any (a wrong one must be a 409).
                let verb = match (rng.gen_bool(0.75), order.status) {
                    (true, "placed") => "confirm",
                    (true, "confirmed") => "ship",
                    (true, _) => "deliver",
                    (false, _) => ["confirm", "ship", "deliver", "cancel"][rng.gen_range(0..4)],
                };
                let actor = if verb == "cancel" { &admin } else { &farmer };
                let answer = app
                    .post(
                        &format!("/orders/{}/{verb}", order.id),
                        Some(actor),
                        json!({}),
                    )
                    .await;
                match next_status(order.status, verb) {
                    Some(next) => {
                        assert_eq!(answer.status, 200, "step {step} {verb}: {}", answer.text);
                        assert_eq!(answer.json()["status"], next);
                        order.status = next;
                        order.paid |= next == "delivered" && cod;
                    }
                    None => {
                        answer.assert_problem(409, "invalid_transition");
                    }
                }
            }
            _ => {
                let owed: Vec<i64> = (0..3)
                    .map(|h| earned(&checkouts)[h] - paid_out[h])
                    .collect();
                let batch = app.payout(&admin, &format!("batch-{step}")).await;
                assert_eq!(batch.status, 201, "step {step}: {}", batch.text);
                let batch = batch.json();
                let mut lines: Vec<(usize, i64)> = batch["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|line| {
                        let h = households
                            .iter()
                            .position(|h| line["household_id"] == h.as_str())
                            .unwrap();
                        (h, line["amount_vnd"].as_i64().unwrap())
                    })
                    .collect();
                lines.sort();
                let expected: Vec<(usize, i64)> = (0..2)
                    .filter(|&h| owed[h] > 0)
                    .map(|h| (h, owed[h]))
                    .collect();
                assert_eq!(lines, expected, "step {step}: {batch}");
                for (h, amount) in lines {
                    paid_out[h] += amount;
                }
                let unpaid_third = batch["without_account"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["balance_vnd"].as_i64().unwrap())
                    .sum::<i64>();
                assert_eq!(unpaid_third, owed[2], "step {step}: {batch}");
            }
        }
    }
    let earned = earned(&checkouts);
    assert!(
        earned.iter().sum::<i64>() > 0,
        "the run delivered nothing paid"
    );
    for (h, household) in households.iter().enumerate() {
        let ledger = app.ledger(&admin, household).await;
        assert_eq!(ledger["balance_vnd"], earned[h] - paid_out[h], "{ledger}");
    }
    // Each checkout states what its buyer pays and is owed back for orders cancelled once paid.
    for checkout in &checkouts {
        let price = |o: &ModelOrder| o.goods + o.shipping;
        let due: i64 = checkout
            .orders
            .iter()
            .filter(|o| o.status != "cancelled" || o.paid)
            .map(price)
            .sum();
        let refunds: i64 = checkout
            .orders
            .iter()
            .filter(|o| o.status == "cancelled" && o.paid)
            .map(price)
            .sum();
        let seen = app
            .get(&format!("/checkouts/{}", checkout.id), Some(&buyer))
            .await
            .json();
        assert_eq!(seen["payment"]["amount_vnd"], due, "{seen}");
        assert_eq!(seen["payment"]["refunds_owed_vnd"], refunds, "{seen}");
    }
    app.assert_ledger_balances();
    // The money metrics kept with each booking are what a rebuild from the books counts.
    app.assert_rollups_exact();
}

/// Payments that arrive as their checkouts expire: each checkout is either paid (its orders
/// stand, its stock stays taken) or expired (its orders cancelled, its stock back, the money held
/// as late), never both, with two servers expiring at once.
async fn a_payment_racing_the_expiry_settles_each_checkout_one_way(backend: Backend) {
    let expiry = Duration::from_millis(1500);
    let Some((app, sibling)) =
        two_expiring_servers(backend, expiry, Duration::from_millis(20)).await
    else {
        return;
    };
    let (farmer, _, products) = three_farms(&app, [100, 100, 100]).await;
    let buyer = app.signed_in("buyer").await;
    let placed = app
        .checkouts(&buyer, &products, &[1, 1, 1], "bank_transfer", 12)
        .await;
    // Each transfer lands a little before, at or after its checkout's expiry.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let payments = placed.iter().enumerate().map(|(n, checkout)| {
        let app = &app;
        async move {
            tokio::time::sleep(Duration::from_millis(50 * n as u64)).await;
            let total = checkout["total_vnd"].as_i64().unwrap();
            app.pay(
                &format!("RACE-{n}"),
                total,
                checkout["code"].as_str().unwrap(),
            )
            .await
        }
    });
    let outcomes = join_all(payments).await;
    let mut paid = 0;
    for (checkout, outcome) in placed.iter().zip(&outcomes) {
        let seen = app
            .get(&format!("/checkouts/{}", id(checkout)), Some(&buyer))
            .await
            .json();
        let statuses: Vec<&str> = seen["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["status"].as_str().unwrap())
            .collect();
        match outcome["outcome"].as_str().unwrap() {
            "matched" => {
                assert_eq!(seen["payment"]["status"], "paid", "{seen}");
                assert_eq!(statuses, ["placed"; 3]);
                paid += 1;
            }
            "late" => {
                assert_eq!(seen["payment"]["status"], "expired", "{seen}");
                assert_eq!(statuses, ["cancelled"; 3]);
            }
            other => panic!("{other}: {outcome}"),
        }
    }
    println!(
        "{paid} of {} transfers arrived before their expiry",
        placed.len()
    );
    for product in &products {
        assert_eq!(app.stock_of(&farmer, product).await, 100 - paid);
    }
    sibling.stop().await;
    app.assert_rollups_exact();
    app.assert_ledger_balances();
}

/// Each unpaid transfer holds its stock: a buyer may hold only so many at once. Past the limit a
/// transfer checkout is 409 and takes nothing; cash on delivery, a paid transfer or one whose
/// orders were all cancelled make room again. Concurrent attempts do not pass the limit.
async fn a_buyer_holds_only_so_many_unpaid_transfers(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.payments.max_unpaid_transfers_per_buyer = 2;
    })
    .await
    else {
        return;
    };
    let (farmer, _, products) = three_farms(&app, [100, 100, 100]).await;
    let buyer = app.signed_in("buyer").await;
    let held = app
        .checkouts(&buyer, &products, &[1, 1, 1], "bank_transfer", 2)
        .await;
    let refused = app
        .checkout(
            &buyer,
            cart(lines(&products, &[1, 1, 1]), "bank_transfer"),
            None,
        )
        .await;
    refused.assert_problem(409, "too_many_unpaid_transfers");
    assert_eq!(app.stock_of(&farmer, &products[0]).await, 98);
    // Another buyer, and cash on delivery, are not held back.
    let other = app.signed_in("buyer").await;
    app.checkouts(&other, &products, &[1, 1, 1], "bank_transfer", 1)
        .await;
    app.checkouts(&buyer, &products, &[1, 1, 1], "cod", 1).await;
    // Paying one makes room for one.
    let total = held[0]["total_vnd"].as_i64().unwrap();
    app.pay("LIMIT-1", total, held[0]["code"].as_str().unwrap())
        .await;
    app.checkouts(&buyer, &products, &[1, 1, 1], "bank_transfer", 1)
        .await;
    // Cancelling every order of one makes room for one.
    for order in held[1]["orders"].as_array().unwrap() {
        app.order_move(&buyer, &id(order), "cancel").await;
    }
    // Two at once for the one place left: one is placed, the other refused.
    let (a, b) = futures_util::join!(
        app.checkout(
            &buyer,
            cart(lines(&products, &[1, 1, 1]), "bank_transfer"),
            None
        ),
        app.checkout(
            &buyer,
            cart(lines(&products, &[1, 1, 1]), "bank_transfer"),
            None
        )
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    app.assert_ledger_balances();
}

on_both_backends!(
    random_money_sequences_keep_the_books_balanced,
    a_cancel_racing_the_payment_is_refunded_or_not_paid,
    a_checkout_across_three_farms_is_one_order_each_and_all_or_nothing,
    forty_buyers_race_for_scarce_stock_while_farmers_edit,
    a_bank_transfer_answers_its_vietqr,
    bank_notifications_pay_exact_amounts_and_hold_the_rest,
    delivered_orders_pay_their_farms_less_the_commission,
);

with_each_backend!(unpaid_transfers_expire_once_with_two_servers);
with_each_backend!(a_payment_racing_the_expiry_settles_each_checkout_one_way);
with_each_backend!(a_buyer_holds_only_so_many_unpaid_transfers);
