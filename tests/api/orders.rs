//! Orders: totals, all-or-nothing stock, idempotency, the lifecycle, visibility, concurrency.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{ServerProcess, TestApp, buyers, place_order_at, shipping};
use crate::on_both_backends;

on_both_backends!(
    an_order_snapshots_prices_and_adds_up_its_totals,
    an_order_takes_every_item_stock_or_none_of_it,
    bad_orders_are_refused_with_the_reason_and_change_nothing,
    a_repeated_idempotency_key_replays_the_same_order,
    concurrent_requests_with_one_key_create_one_order,
    status_moves_follow_the_table_for_every_role,
    cancelling_returns_the_stock_exactly_once,
    each_role_sees_only_its_orders_and_filters_narrow_them,
    forty_buyers_racing_for_ten_units_never_oversell,
    concurrent_confirm_and_cancel_on_one_order_let_exactly_one_win,
    eighty_buyers_on_two_server_processes_never_oversell,
);

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

fn items(lines: &[(&str, i64)]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|(product, quantity)| json!({"product_id": product, "quantity": quantity}))
            .collect(),
    )
}

async fn an_order_snapshots_prices_and_adds_up_its_totals(app: TestApp) {
    let (farmer, household, lychee) = app
        .seller_with_product(50, json!({"name": "Vải thiều", "price_vnd": 30000}))
        .await;
    let boxed = app
        .product(
            &farmer,
            &household,
            json!({"name": "Vải hộp 2 kg", "unit": "hộp 2 kg", "unit_weight_grams": 2000,
                                              "price_vnd": 95000, "stock_quantity": 10}),
        )
        .await;
    let buyer = app.signed_in("buyer").await;
    let me = app.get("/me", Some(&buyer)).await.json();
    let answer = app
        .post(
            "/orders",
            Some(&buyer),
            json!({"items": items(&[(&lychee, 3), (&id(&boxed), 2)]), "note": "Giao buổi sáng",
                   "shipping": {"recipient_name": "Hoa", "phone": "0987654321", "address": "Hà Nội", "province_code": "01"}}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let order = answer.json();
    assert_eq!(order["status"], "placed");
    assert_eq!(order["buyer_id"], me["id"]);
    assert_eq!(order["household_id"], household.as_str());
    assert_eq!(order["total_vnd"], 3 * 30000 + 2 * 95000);
    assert_eq!(order["total_weight_grams"], 3 * 1000 + 2 * 2000);
    assert_eq!(order["payment_method"], "cod");
    assert_eq!(order["payment_status"], "unpaid");
    assert_eq!(order["note"], "Giao buổi sáng");
    assert_eq!(order["shipping"]["country_code"], "VN", "VN by default");
    assert_eq!(order["shipping"]["province_code"], "01");
    assert_eq!(
        order["items"][1],
        json!({"product_id": id(&boxed), "product_name": "Vải hộp 2 kg", "quantity": 2, "unit_price_vnd": 95000,
               "unit_weight_grams": 2000, "line_total_vnd": 190000})
    );
    for stamp in [
        "confirmed_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
        "cancel_reason",
        "tracking_code",
    ] {
        assert_eq!(order[stamp], Value::Null, "{stamp}");
    }
    assert!(order["placed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(app.stock_of(&farmer, &lychee).await, 47);
    assert_eq!(app.stock_of(&farmer, &id(&boxed)).await, 8);

    // Later price changes leave the order's snapshot alone.
    app.patch(
        &format!("/products/{lychee}"),
        Some(&farmer),
        json!({"price_vnd": 99999, "name": "Vải mới"}),
    )
    .await;
    let again = app
        .get(&format!("/orders/{}", id(&order)), Some(&buyer))
        .await
        .json();
    assert_eq!(again["items"][0]["unit_price_vnd"], 30000);
    assert_eq!(again["items"][0]["product_name"], "Vải thiều");
    assert_eq!(again["total_vnd"], order["total_vnd"]);

    let export = app
        .post(
            "/orders",
            Some(&buyer),
            json!({"items": items(&[(&lychee, 1)]), "shipping": shipping("jp"),
                                                "payment_method": "bank_transfer"}),
        )
        .await;
    assert_eq!(export.status, 201, "{}", export.text);
    assert_eq!(export.json()["shipping"]["country_code"], "JP");
    assert_eq!(export.json()["payment_method"], "bank_transfer");
}

async fn an_order_takes_every_item_stock_or_none_of_it(app: TestApp) {
    let (farmer, household, plenty) = app.seller_with_product(5, json!({"name": "Cam"})).await;
    let scarce = id(&app
        .product(
            &farmer,
            &household,
            json!({"name": "Bưởi Diễn", "stock_quantity": 2}),
        )
        .await);
    let buyer = app.signed_in("buyer").await;
    let answer = app
        .place_order(&buyer, items(&[(&plenty, 3), (&scarce, 5)]), None)
        .await;
    let body = answer.assert_problem(409, "insufficient_stock");
    assert_eq!(
        body["errors"],
        json!([{"field": "items[1].quantity", "message": "only 2 left"}])
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("only 2 units of 'Bưởi Diễn' are left"),
        "{body}"
    );
    assert_eq!(app.stock_of(&farmer, &plenty).await, 5, "untouched");
    assert_eq!(app.stock_of(&farmer, &scarce).await, 2);

    let both_short = app
        .place_order(&buyer, items(&[(&plenty, 6), (&scarce, 3)]), None)
        .await;
    both_short.assert_problem(409, "insufficient_stock");
    assert_eq!(
        both_short.problem_fields(),
        ["items[0].quantity", "items[1].quantity"]
    );

    let exact = app
        .place_order(&buyer, items(&[(&plenty, 5), (&scarce, 2)]), None)
        .await;
    assert_eq!(exact.status, 201, "{}", exact.text);
    assert_eq!(app.stock_of(&farmer, &plenty).await, 0);
    assert_eq!(app.get("/orders", Some(&buyer)).await.json()["total"], 1);
}

async fn bad_orders_are_refused_with_the_reason_and_change_nothing(app: TestApp) {
    let (farmer, household, product) = app.seller_with_product(10, json!({})).await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    let ok_items = items(&[(&product, 1)]);

    app.post(
        "/orders",
        None,
        json!({"items": ok_items, "shipping": shipping("VN")}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    for token in [&farmer, &admin] {
        app.place_order(token, ok_items.clone(), None)
            .await
            .assert_problem(403, "forbidden");
    }

    let many: Vec<Value> = (0..101)
        .map(|_| json!({"product_id": product, "quantity": 1}))
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"items": [], "shipping": shipping("VN")}), "items"),
        (json!({"items": many, "shipping": shipping("VN")}), "items"),
        (
            json!({"items": items(&[(&product, 0)]), "shipping": shipping("VN")}),
            "items[0].quantity",
        ),
        (
            json!({"items": items(&[(&product, -2)]), "shipping": shipping("VN")}),
            "items[0].quantity",
        ),
        (
            json!({"items": items(&[(&product, 1), (&product, 2)]), "shipping": shipping("VN")}),
            "items[1].product_id",
        ),
        (
            json!({"items": items(&[("p1", 1)]), "shipping": shipping("VN")}),
            "items[0].product_id",
        ),
        (
            json!({"items": ok_items, "shipping": shipping("XX")}),
            "shipping.country_code",
        ),
        (
            json!({"items": ok_items, "shipping": shipping("VNM")}),
            "shipping.country_code",
        ),
        (json!({"items": ok_items}), "shipping"),
        (
            json!({"items": ok_items, "shipping": {"recipient_name": "A", "phone": "12", "address": "B"}}),
            "shipping.phone",
        ),
        (
            json!({"items": ok_items, "shipping": {"recipient_name": "A", "phone": "0987654321", "address": " "}}),
            "shipping.address",
        ),
        (
            json!({"items": ok_items, "shipping": {"recipient_name": "A", "phone": "0987654321", "address": "B",
                                               "province_code": "00"}}),
            "shipping.province_code",
        ),
        (
            json!({"items": ok_items, "shipping": shipping("VN"), "payment_method": "cash"}),
            "payment_method",
        ),
        (
            json!({"items": ok_items, "shipping": shipping("VN"), "coupon": "FREE"}),
            "coupon",
        ),
        (
            json!({"items": [{"product_id": product, "quantity": "2"}], "shipping": shipping("VN")}),
            "items[0].quantity",
        ),
    ];
    for (body, field) in cases {
        let answer = app.post("/orders", Some(&buyer), body).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.problem_fields(), [field], "{}", answer.text);
    }
    let bad_key = app
        .place_order(&buyer, ok_items.clone(), Some(&"k".repeat(256)))
        .await;
    bad_key.assert_problem(422, "validation_failed");
    assert_eq!(bad_key.problem_fields(), ["Idempotency-Key"]);

    // A product of another household.
    let (_, _, foreign) = app.seller_with_product(10, json!({})).await;
    let mixed = app
        .place_order(&buyer, items(&[(&product, 1), (&foreign, 1)]), None)
        .await;
    mixed.assert_problem(422, "mixed_households");
    assert_eq!(mixed.problem_fields(), ["items[1].product_id"]);

    // Archived, paused, unknown products and suspended households cannot be ordered.
    let paused = id(&app
        .product(&farmer, &household, json!({"status": "paused"}))
        .await);
    let unknown = uuid::Uuid::now_v7().to_string();
    let unavailable = app
        .place_order(
            &buyer,
            items(&[(&product, 1), (&paused, 1), (&unknown, 1)]),
            None,
        )
        .await;
    unavailable.assert_problem(409, "product_unavailable");
    assert_eq!(
        unavailable.problem_fields(),
        ["items[1].product_id", "items[2].product_id"]
    );
    let archived = id(&app.product(&farmer, &household, json!({})).await);
    app.delete(&format!("/products/{archived}"), Some(&farmer))
        .await;
    app.place_order(&buyer, items(&[(&archived, 1)]), None)
        .await
        .assert_problem(409, "product_unavailable");

    // Totals beyond the money range are refused, not wrapped around.
    let dear = id(&app
        .product(
            &farmer,
            &household,
            json!({"price_vnd": 1_000_000_000_000_000i64, "stock_quantity": 5}),
        )
        .await);
    let overflow = app.place_order(&buyer, items(&[(&dear, 2)]), None).await;
    overflow.assert_problem(422, "validation_failed");
    assert_eq!(overflow.problem_fields(), ["items"]);
    assert_eq!(app.stock_of(&farmer, &dear).await, 5);
    // So is an order past a million tonnes (the quote says so first), which once made its
    // day's weight rollups overflow for every order after it; a million tonnes is taken.
    let heavy = id(&app
        .product(
            &farmer,
            &household,
            json!({"price_vnd": 1, "unit_weight_grams": 1_000_000_000i64, "stock_quantity": 5000}),
        )
        .await);
    let quote = app
        .post(
            "/shipping/quote",
            None,
            json!({"items": items(&[(&heavy, 1001)]), "shipping": {"province_code": "79"}}),
        )
        .await;
    quote.assert_problem(422, "validation_failed");
    assert_eq!(quote.problem_fields(), ["items"]);
    let too_heavy = app
        .place_order(&buyer, items(&[(&heavy, 1001)]), None)
        .await;
    too_heavy.assert_problem(422, "validation_failed");
    assert_eq!(too_heavy.problem_fields(), ["items"]);
    assert_eq!(app.stock_of(&farmer, &heavy).await, 5000);
    // (Shipping a million tonnes costs more than cash on delivery collects: it ships free here.)
    let free = app
        .patch(
            &format!("/households/{household}"),
            Some(&farmer),
            json!({"free_shipping_from_vnd": 1}),
        )
        .await;
    assert_eq!(free.status, 200, "{}", free.text);
    let heaviest = app
        .place_order(&buyer, items(&[(&heavy, 1000)]), None)
        .await;
    assert_eq!(heaviest.status, 201, "{}", heaviest.text);
    assert_eq!(heaviest.json()["total_weight_grams"], 1_000_000_000_000i64);

    app.patch(
        &format!("/households/{household}"),
        Some(&admin),
        json!({"status": "suspended"}),
    )
    .await;
    app.place_order(&buyer, ok_items, None)
        .await
        .assert_problem(409, "product_unavailable");
    assert_eq!(app.stock_of(&farmer, &product).await, 10);
    // The one order placed is the heaviest one.
    assert_eq!(app.get("/orders", Some(&admin)).await.json()["total"], 1);
}

async fn a_repeated_idempotency_key_replays_the_same_order(app: TestApp) {
    let (farmer, _, product) = app.seller_with_product(10, json!({})).await;
    let buyer = app.signed_in("buyer").await;
    let first = app
        .place_order(
            &buyer,
            items(&[(&product, 2)]),
            Some("order-2021-06-30-001"),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = app
        .place_order(
            &buyer,
            items(&[(&product, 2)]),
            Some("order-2021-06-30-001"),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json(), first.json());
    assert_eq!(app.stock_of(&farmer, &product).await, 8, "stock taken once");

    let other_body = app
        .place_order(
            &buyer,
            items(&[(&product, 3)]),
            Some("order-2021-06-30-001"),
        )
        .await;
    other_body.assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.stock_of(&farmer, &product).await, 8);

    // Keys belong to a buyer: another buyer's identical key is a new order.
    let other_buyer = app.signed_in("buyer").await;
    let theirs = app
        .place_order(
            &other_buyer,
            items(&[(&product, 2)]),
            Some("order-2021-06-30-001"),
        )
        .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(id(&theirs.json()), id(&first.json()));

    // A failed attempt is not remembered: the retry can succeed once stock is back.
    let short = app
        .place_order(&buyer, items(&[(&product, 9)]), Some("retry-me"))
        .await;
    short.assert_problem(409, "insufficient_stock");
    app.patch(
        &format!("/products/{product}"),
        Some(&farmer),
        json!({"stock_quantity": 20}),
    )
    .await;
    assert_eq!(
        app.place_order(&buyer, items(&[(&product, 9)]), Some("retry-me"))
            .await
            .status,
        201
    );
}

async fn concurrent_requests_with_one_key_create_one_order(app: TestApp) {
    let (farmer, _, product) = app.seller_with_product(100, json!({})).await;
    let buyer = app.signed_in("buyer").await;
    let attempts =
        (0..8).map(|_| app.place_order(&buyer, items(&[(&product, 3)]), Some("double-click")));
    let answers = futures_util::future::join_all(attempts).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let replayed = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        (created, replayed),
        (1, 7),
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    let ids: HashSet<String> = answers.iter().map(|a| id(&a.json())).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.stock_of(&farmer, &product).await, 97);
}

async fn status_moves_follow_the_table_for_every_role(app: TestApp) {
    let app = &app;
    let (owner, _, product) = app.seller_with_product(100, json!({})).await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    let stranger_farmer = app.signed_in("farmer").await;
    let stranger_buyer = app.signed_in("buyer").await;
    let place = || app.place_order(&buyer, items(&[(&product, 1)]), None);
    let act = |order: &str, action: &str, token: &str| {
        let path = format!("/orders/{order}/{action}");
        let token = token.to_owned();
        async move { app.post_empty(&path, Some(&token)).await }
    };

    // The happy path, with its stamps.
    let order = id(&place().await.json());
    for stranger in [&stranger_farmer, &stranger_buyer] {
        act(&order, "confirm", stranger)
            .await
            .assert_problem(404, "not_found");
    }
    act(&order, "confirm", &buyer)
        .await
        .assert_problem(403, "forbidden");
    act(&order, "confirm", &admin)
        .await
        .assert_problem(403, "forbidden");
    act(&order, "ship", &owner)
        .await
        .assert_problem(409, "invalid_transition");
    act(&order, "deliver", &owner)
        .await
        .assert_problem(409, "invalid_transition");
    let confirmed = act(&order, "confirm", &owner).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(confirmed.json()["status"], "confirmed");
    assert!(confirmed.json()["confirmed_at"].is_string());
    act(&order, "confirm", &owner)
        .await
        .assert_problem(409, "invalid_transition");
    act(&order, "ship", &buyer)
        .await
        .assert_problem(403, "forbidden");
    let shipped = app
        .post(
            &format!("/orders/{order}/ship"),
            Some(&owner),
            json!({"tracking_code": "VNPOST-123"}),
        )
        .await;
    assert_eq!(shipped.status, 200, "{}", shipped.text);
    assert_eq!(shipped.json()["tracking_code"], "VNPOST-123");
    assert!(shipped.json()["shipped_at"].is_string());
    act(&order, "deliver", &stranger_buyer)
        .await
        .assert_problem(404, "not_found");
    let delivered = act(&order, "deliver", &buyer).await.json();
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(
        delivered["payment_status"], "paid",
        "cash on delivery is paid on delivery"
    );
    assert!(delivered["delivered_at"].is_string());
    for token in [&buyer, &owner, &admin] {
        act(&order, "cancel", token)
            .await
            .assert_problem(409, "invalid_transition");
        act(&order, "deliver", token)
            .await
            .assert_problem(409, "invalid_transition");
    }

    // Deliver by the owner and by an admin; bank transfers stay as they were.
    for token in [&owner, &admin] {
        let order = id(&app
            .post(
                "/orders",
                Some(&buyer),
                json!({"items": items(&[(&product, 1)]), "shipping": shipping("VN"),
                                                    "payment_method": "bank_transfer"}),
            )
            .await
            .json());
        act(&order, "confirm", &owner).await;
        act(&order, "ship", &owner).await;
        let delivered = act(&order, "deliver", token).await;
        assert_eq!(delivered.status, 200, "{}", delivered.text);
        assert_eq!(delivered.json()["payment_status"], "unpaid");
    }

    // Cancelling: buyer from placed only; owner from placed or confirmed; admin from anything but delivered.
    let order = id(&place().await.json());
    act(&order, "confirm", &owner).await;
    act(&order, "cancel", &buyer)
        .await
        .assert_problem(409, "invalid_transition");
    let cancelled = app
        .post(
            &format!("/orders/{order}/cancel"),
            Some(&owner),
            json!({"reason": "Hết hàng"}),
        )
        .await
        .json();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "Hết hàng");
    assert!(cancelled["cancelled_at"].is_string());
    for action in ["confirm", "ship", "deliver", "cancel"] {
        act(&order, action, &admin).await;
        act(&order, action, &owner).await;
    }
    assert_eq!(
        app.get(&format!("/orders/{order}"), Some(&buyer))
            .await
            .json()["status"],
        "cancelled"
    );
    act(&order, "cancel", &admin)
        .await
        .assert_problem(409, "invalid_transition");

    let by_buyer = id(&place().await.json());
    assert_eq!(
        act(&by_buyer, "cancel", &buyer).await.json()["status"],
        "cancelled"
    );
    let by_owner = id(&place().await.json());
    assert_eq!(
        act(&by_owner, "cancel", &owner).await.json()["status"],
        "cancelled"
    );
    let by_admin = id(&place().await.json());
    act(&by_admin, "confirm", &owner).await;
    act(&by_admin, "ship", &owner).await;
    act(&by_admin, "cancel", &owner)
        .await
        .assert_problem(409, "invalid_transition");
    assert_eq!(
        act(&by_admin, "cancel", &admin).await.json()["status"],
        "cancelled"
    );
    act(&by_admin, "cancel", &stranger_farmer)
        .await
        .assert_problem(404, "not_found");

    let long_reason = app
        .post(
            &format!("/orders/{by_owner}/cancel"),
            Some(&owner),
            json!({"reason": "x".repeat(501)}),
        )
        .await;
    long_reason.assert_problem(422, "validation_failed");
    app.post_empty("/orders/not-an-id/confirm", Some(&owner))
        .await
        .assert_problem(404, "not_found");
}

async fn cancelling_returns_the_stock_exactly_once(app: TestApp) {
    let (owner, household, product) = app.seller_with_product(10, json!({})).await;
    let second = id(&app
        .product(&owner, &household, json!({"stock_quantity": 4}))
        .await);
    let buyer = app.signed_in("buyer").await;
    let order = id(&app
        .place_order(&buyer, items(&[(&product, 3), (&second, 4)]), None)
        .await
        .json());
    assert_eq!(app.stock_of(&owner, &product).await, 7);
    assert_eq!(app.stock_of(&owner, &second).await, 0);
    assert_eq!(
        app.post_empty(&format!("/orders/{order}/cancel"), Some(&buyer))
            .await
            .status,
        200
    );
    assert_eq!(app.stock_of(&owner, &product).await, 10);
    assert_eq!(app.stock_of(&owner, &second).await, 4);
    app.post_empty(&format!("/orders/{order}/cancel"), Some(&buyer))
        .await
        .assert_problem(409, "invalid_transition");
    assert_eq!(
        app.stock_of(&owner, &product).await,
        10,
        "not restored twice"
    );

    // Stock goes back even to a product archived since.
    let order = id(&app
        .place_order(&buyer, items(&[(&product, 2)]), None)
        .await
        .json());
    app.delete(&format!("/products/{product}"), Some(&owner))
        .await;
    app.post_empty(&format!("/orders/{order}/cancel"), Some(&owner))
        .await;
    assert_eq!(app.stock_of(&owner, &product).await, 10);
}

async fn each_role_sees_only_its_orders_and_filters_narrow_them(app: TestApp) {
    let app = &app;
    let (owner, household, product) = app.seller_with_product(100, json!({})).await;
    let (other_owner, other_household, other_product) =
        app.seller_with_product(100, json!({})).await;
    let buyer = app.signed_in("buyer").await;
    let other_buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    let mine = id(&app
        .place_order(&buyer, items(&[(&product, 1)]), None)
        .await
        .json());
    let mine_elsewhere = id(&app
        .place_order(&buyer, items(&[(&other_product, 1)]), None)
        .await
        .json());
    let theirs = id(&app
        .place_order(&other_buyer, items(&[(&product, 2)]), None)
        .await
        .json());
    app.post_empty(&format!("/orders/{theirs}/confirm"), Some(&owner))
        .await;

    let listed = |path: &str, token: &str| {
        let path = path.to_owned();
        let token = token.to_owned();
        async move { app.listed_ids(&path, Some(&token)).await }
    };
    assert_eq!(
        listed("/orders", &buyer).await,
        [mine_elsewhere.clone(), mine.clone()],
        "newest first"
    );
    assert_eq!(
        listed("/orders", &owner).await,
        [theirs.clone(), mine.clone()]
    );
    assert_eq!(
        listed("/orders", &other_owner).await,
        [mine_elsewhere.clone()]
    );
    assert_eq!(listed("/orders", &admin).await.len(), 3);
    assert_eq!(
        listed("/orders?status=confirmed", &admin).await,
        [theirs.clone()]
    );
    assert_eq!(
        listed(&format!("/orders?household_id={other_household}"), &admin).await,
        [mine_elsewhere.clone()]
    );
    assert!(
        listed(&format!("/orders?household_id={other_household}"), &owner)
            .await
            .is_empty()
    );
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    assert_eq!(
        listed(&format!("/orders?from={today}&to={today}"), &admin)
            .await
            .len(),
        3
    );
    assert!(listed("/orders?to=2021-06-30", &admin).await.is_empty());
    assert!(
        listed(
            &format!("/orders?from={}", today.succ_opt().unwrap()),
            &admin
        )
        .await
        .is_empty()
    );

    assert_eq!(
        app.get(&format!("/orders/{mine}"), Some(&buyer))
            .await
            .json()["household_id"],
        household.as_str()
    );
    app.get(&format!("/orders/{theirs}"), Some(&buyer))
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/orders/{mine}"), Some(&other_owner))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get(&format!("/orders/{mine}"), Some(&admin))
            .await
            .status,
        200
    );
    app.get("/orders", None)
        .await
        .assert_problem(401, "unauthenticated");
    for query in [
        "status=lost",
        "from=2021-13-01",
        "from=2021-07-01&to=2021-06-30",
        "household_id=h1",
        "per_page=0",
    ] {
        app.get(&format!("/orders?{query}"), Some(&admin))
            .await
            .assert_problem(422, "validation_failed");
    }
}

/// Checks the no-oversell invariant: stock left + units sold = stock at start.
async fn assert_stock_invariant(
    app: &TestApp,
    owner: &str,
    product: &str,
    start: i64,
    answers: &[crate::helpers::Answer],
) {
    let sold: i64 = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| a.json()["items"][0]["quantity"].as_i64().unwrap())
        .sum();
    for answer in answers {
        assert!(
            answer.status == 201 || answer.status == 409,
            "only placed or out of stock: {} {}",
            answer.status,
            answer.text
        );
    }
    let left = app.stock_of(owner, product).await;
    assert!(left >= 0);
    assert_eq!(
        left + sold,
        start,
        "stock left {left} + sold {sold} must equal the start {start}"
    );
    let listed: i64 = app.get("/orders?per_page=100", Some(owner)).await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["items"][0]["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(
        listed, sold,
        "the orders stored are exactly the ones answered 201"
    );
}

async fn forty_buyers_racing_for_ten_units_never_oversell(app: TestApp) {
    let (owner, _, product) = app.seller_with_product(10, json!({})).await;
    let tokens = buyers(&app, 40).await;
    let races = tokens.iter().enumerate().map(|(i, token)| {
        let quantity = 1 + (i % 3) as i64;
        app.place_order(token, items(&[(&product, quantity)]), None)
    });
    let answers = futures_util::future::join_all(races).await;
    assert!(answers.iter().any(|a| a.status == 201));
    assert_stock_invariant(&app, &owner, &product, 10, &answers).await;
    assert_eq!(
        app.stock_of(&owner, &product).await,
        0,
        "40 buyers wanting 80 units empty the stock"
    );
}

async fn concurrent_confirm_and_cancel_on_one_order_let_exactly_one_win(app: TestApp) {
    let (owner, _, product) = app.seller_with_product(50, json!({})).await;
    let buyer = app.signed_in("buyer").await;
    let mut cancelled = 0;
    for _ in 0..10 {
        let order = id(&app
            .place_order(&buyer, items(&[(&product, 2)]), None)
            .await
            .json());
        let confirm_path = format!("/orders/{order}/confirm");
        let cancel_path = format!("/orders/{order}/cancel");
        let (confirm, cancel, cancel_again) = tokio::join!(
            app.post_empty(&confirm_path, Some(&owner)),
            app.post_empty(&cancel_path, Some(&buyer)),
            app.post_empty(&cancel_path, Some(&buyer)),
        );
        let statuses = [
            confirm.status.as_u16(),
            cancel.status.as_u16(),
            cancel_again.status.as_u16(),
        ];
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "exactly one move wins: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        if confirm.status != 200 {
            cancelled += 1;
        }
    }
    let confirmed = 10 - cancelled;
    assert_eq!(
        app.stock_of(&owner, &product).await,
        50 - 2 * confirmed,
        "each cancel returned its stock once"
    );
}

async fn eighty_buyers_on_two_server_processes_never_oversell(app: TestApp) {
    let (owner, _, product) = app.seller_with_product(25, json!({})).await;
    let tokens = buyers(&app, 80).await;
    let first = ServerProcess::start(&app.database.url);
    let second = ServerProcess::start(&app.database.url);
    let races = tokens.iter().enumerate().map(|(i, token)| {
        let address = if i % 2 == 0 {
            &first.address
        } else {
            &second.address
        };
        let body = json!({"items": items(&[(&product, 1)]), "shipping": shipping("VN")});
        place_order_at(&app.client, address, token, body, None)
    });
    let answers = futures_util::future::join_all(races).await;
    assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 25);
    assert_stock_invariant(&app, &owner, &product, 25, &answers).await;
}
