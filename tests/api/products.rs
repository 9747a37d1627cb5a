//! Product listings: creation, permissions, validation, search, filters, visibility, views.

use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::helpers::{RunningServer, TestApp, eventually, ids, product_body, test_settings};
use crate::on_both_backends;

on_both_backends!(
    farmers_list_produce_in_their_households,
    only_owners_and_admins_list_and_change_products,
    product_validation_names_each_field,
    search_ignores_case_diacritics_and_normal_form,
    every_filter_and_sort_narrows_and_orders_the_listing,
    archived_paused_and_suspended_products_are_hidden_from_the_public,
    product_page_views_are_counted,
    a_stock_adjustment_adds_to_the_stock_as_it_is_then,
);

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

async fn farmers_list_produce_in_their_households(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let household = app.household(&farmer, "Hộ ông Hùng", "24").await;
    let answer = app
        .post(
            "/products",
            Some(&farmer),
            product_body(
                &id(&household),
                json!({"name": " Vải thiều Lục Ngạn loại 1 ", "description": "Quả to, cùi dày",
                       "unit": "hộp 2 kg", "unit_weight_grams": 2000, "price_vnd": 95000, "stock_quantity": 40,
                       "certifications": ["OCOP", "VietGAP", "OCOP"], "ocop_stars": 4,
                       "harvest_from": "2021-06-01", "harvest_to": "2021-07-15"}),
            ),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let product = answer.json();
    assert_eq!(product["name"], "Vải thiều Lục Ngạn loại 1");
    assert_eq!(product["household_id"], household["id"]);
    assert_eq!(
        product["origin_province_code"], "24",
        "defaults to the household's province"
    );
    assert_eq!(product["certifications"], json!(["VietGAP", "OCOP"]));
    assert_eq!(product["ocop_stars"], 4);
    assert_eq!(product["unit"], "hộp 2 kg");
    assert_eq!(product["unit_weight_grams"], 2000);
    assert_eq!(product["price_vnd"], 95000);
    assert_eq!(product["stock_quantity"], 40);
    assert_eq!(product["harvest_from"], "2021-06-01");
    assert_eq!(product["harvest_to"], "2021-07-15");
    assert_eq!(product["status"], "active");
    assert_eq!(product["views"], 0);
    let mut keys: Vec<&str> = product
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "category",
            "certifications",
            "created_at",
            "description",
            "harvest_from",
            "harvest_to",
            "household_id",
            "id",
            "name",
            "ocop_stars",
            "origin_current_code",
            "origin_map",
            "origin_province_code",
            "price_vnd",
            "status",
            "stock_quantity",
            "unit",
            "unit_weight_grams",
            "updated_at",
            "views"
        ]
    );

    let minimal = app
        .product(
            &farmer,
            &id(&household),
            json!({"origin_province_code": "01", "name": "Rau muống"}),
        )
        .await;
    assert_eq!(minimal["certifications"], json!([]));
    assert_eq!(minimal["ocop_stars"], Value::Null);
    assert_eq!(minimal["origin_province_code"], "01");

    let path = format!("/products/{}", id(&product));
    let changed = app
        .patch(
            &path,
            Some(&farmer),
            json!({"stock_quantity": 0, "price_vnd": 99000, "ocop_stars": null,
                                               "certifications": ["VietGAP"], "description": null}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let changed = changed.json();
    assert_eq!(changed["stock_quantity"], 0);
    assert_eq!(changed["price_vnd"], 99000);
    assert_eq!(changed["certifications"], json!(["VietGAP"]));
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["name"], product["name"], "absent fields stay");
    assert_eq!(changed["created_at"], product["created_at"]);
    assert_ne!(changed["updated_at"], product["updated_at"]);
}

async fn only_owners_and_admins_list_and_change_products(app: TestApp) {
    let owner = app.signed_in("farmer").await;
    let stranger = app.signed_in("farmer").await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    let household = app.household(&owner, "Hộ bà Mai", "01").await;
    let body = product_body(&id(&household), json!({}));

    app.post("/products", None, body.clone())
        .await
        .assert_problem(401, "unauthenticated");
    app.post("/products", Some(&buyer), body.clone())
        .await
        .assert_problem(403, "forbidden");
    app.post("/products", Some(&stranger), body.clone())
        .await
        .assert_problem(403, "forbidden");
    let by_admin = app.post("/products", Some(&admin), body.clone()).await;
    assert_eq!(by_admin.status, 201, "{}", by_admin.text);
    let product = app.product(&owner, &id(&household), json!({})).await;
    let path = format!("/products/{}", id(&product));

    let change = json!({"price_vnd": 1});
    app.patch(&path, None, change.clone())
        .await
        .assert_problem(401, "unauthenticated");
    app.patch(&path, Some(&buyer), change.clone())
        .await
        .assert_problem(403, "forbidden");
    app.patch(&path, Some(&stranger), change.clone())
        .await
        .assert_problem(403, "forbidden");
    app.delete(&path, Some(&stranger))
        .await
        .assert_problem(403, "forbidden");
    app.delete(&path, None)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        app.patch(&path, Some(&admin), json!({"price_vnd": 2}))
            .await
            .status,
        200
    );
    assert_eq!(
        app.patch(&path, Some(&owner), change).await.json()["price_vnd"],
        1
    );

    let unknown = product_body(&uuid::Uuid::now_v7().to_string(), json!({}));
    app.post("/products", Some(&owner), unknown)
        .await
        .assert_problem(404, "not_found");
    let malformed = product_body("h1", json!({}));
    let answer = app.post("/products", Some(&owner), malformed).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.problem_fields(), ["household_id"]);

    let household_path = format!("/households/{}", id(&household));
    app.patch(
        &household_path,
        Some(&admin),
        json!({"status": "suspended"}),
    )
    .await;
    let answer = app.post("/products", Some(&owner), body).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.problem_fields(), ["household_id"]);
}

async fn product_validation_names_each_field(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let household = app.household(&farmer, "Hộ ông Tư", "79").await;
    let hid = id(&household);
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "n".repeat(201)}), "name"),
        (json!({"description": "d".repeat(5001)}), "description"),
        (json!({"category": "meat"}), "category"),
        (json!({"unit": " "}), "unit"),
        (json!({"unit_weight_grams": 0}), "unit_weight_grams"),
        (json!({"price_vnd": 0}), "price_vnd"),
        (json!({"price_vnd": 1_000_000_000_000_001i64}), "price_vnd"),
        (json!({"price_vnd": 1.5}), "price_vnd"),
        (json!({"price_vnd": "30000"}), "price_vnd"),
        (json!({"stock_quantity": -1}), "stock_quantity"),
        (
            json!({"certifications": ["VietGAP", "ISO9001"]}),
            "certifications[1]",
        ),
        (
            json!({"certifications": ["OCOP"], "ocop_stars": 2}),
            "ocop_stars",
        ),
        (json!({"ocop_stars": 4}), "ocop_stars"),
        (json!({"harvest_from": "01/06/2021"}), "harvest_from"),
        (
            json!({"harvest_from": "2021-07-01", "harvest_to": "2021-06-01"}),
            "harvest_to",
        ),
        (
            json!({"origin_province_code": "65"}),
            "origin_province_code",
        ),
        (json!({"status": "archived"}), "status"),
        (json!({"colour": "red"}), "colour"),
    ];
    for (fields, field) in cases {
        let answer = app
            .post(
                "/products",
                Some(&farmer),
                product_body(&hid, fields.clone()),
            )
            .await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(
            answer.problem_fields(),
            [field],
            "{fields}: {}",
            answer.text
        );
    }
    // The largest price is allowed.
    app.product(
        &farmer,
        &hid,
        json!({"price_vnd": 1_000_000_000_000_000i64}),
    )
    .await;
    let product = app.product(&farmer, &hid, json!({})).await;
    let path = format!("/products/{}", id(&product));
    for (change, field) in [
        (json!({"stock_quantity": -5}), "stock_quantity"),
        (json!({"ocop_stars": 5}), "ocop_stars"),
        (json!({"status": "deleted"}), "status"),
        (json!({"household_id": hid}), "household_id"),
        (
            json!({"harvest_to": "2020-01-01", "harvest_from": "2020-02-01"}),
            "harvest_to",
        ),
    ] {
        let answer = app.patch(&path, Some(&farmer), change.clone()).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.problem_fields(), [field], "{change}");
    }
    let unchanged = app.get(&path, Some(&farmer)).await.json();
    assert_eq!(
        unchanged["stock_quantity"], 100,
        "rejected changes change nothing"
    );
    assert_eq!(app.get("/products", None).await.json()["total"], 2);
}

async fn search_ignores_case_diacritics_and_normal_form(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let household = app.household(&farmer, "Hộ ông Hùng", "24").await;
    let hid = id(&household);
    let lychee = id(&app
        .product(&farmer, &hid, json!({"name": "Vải thiều Lục Ngạn"}))
        .await);
    let sugar = id(&app
        .product(
            &farmer,
            &hid,
            json!({"name": "Đường phèn Quảng Ngãi", "category": "processed"}),
        )
        .await);
    let orange = id(&app
        .product(
            &farmer,
            &hid,
            json!({"name": "Cam sành Hà Giang", "description": "Vị ngọt, mọng nước, hoà quyện"}),
        )
        .await);
    let search = |q: String| {
        let path = format!("/products?q={}", urlencode(&q));
        let app = &app;
        async move { app.listed_ids(&path, None).await }
    };
    assert_eq!(search("vai thieu".into()).await, [lychee.clone()]);
    assert_eq!(search("VẢI THIỀU".into()).await, [lychee.clone()]);
    let decomposed: String = "Vải thiều".nfd().collect();
    assert_ne!(decomposed, "Vải thiều");
    assert_eq!(search(decomposed).await, [lychee.clone()]);
    assert_eq!(search("thiều lục".into()).await, [lychee.clone()]);
    assert_eq!(search("duong".into()).await, [sugar.clone()]);
    assert_eq!(search("ĐƯỜNG".into()).await, [sugar]);
    assert_eq!(
        search("ngot".into()).await,
        [orange.clone()],
        "the description is searched"
    );
    assert_eq!(
        search("hòa quyện".into()).await,
        [orange.clone()],
        "tone marks placed either way"
    );
    assert_eq!(search("hoà".into()).await, [orange.clone()]);
    assert_eq!(
        search("thie".into()).await,
        [lychee.clone()],
        "part of a word matches"
    );
    assert!(
        search("vai cam".into()).await.is_empty(),
        "every word must occur"
    );
    assert_eq!(
        search("  ".into()).await.len(),
        3,
        "a blank query does not filter"
    );
    assert!(
        search("100%_".into()).await.is_empty(),
        "wildcards are literal"
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn every_filter_and_sort_narrows_and_orders_the_listing(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let north = id(&app.household(&farmer, "Hộ Bắc Giang", "24").await);
    let south = id(&app.household(&farmer, "Hộ Đồng Tháp", "87").await);
    let a = id(&app
        .product(
            &farmer,
            &north,
            json!({"name": "Vải", "price_vnd": 30000, "certifications": ["VietGAP"]}),
        )
        .await);
    let b = id(&app
        .product(&farmer, &north, json!({"name": "Chè", "category": "tea_coffee", "price_vnd": 200000,
                                          "stock_quantity": 0, "certifications": ["OCOP"], "ocop_stars": 3}))
        .await);
    let c = id(&app
        .product(
            &farmer,
            &south,
            json!({"name": "Xoài", "price_vnd": 45000, "origin_province_code": "87",
                                          "certifications": ["GlobalGAP", "organic"]}),
        )
        .await);
    let listed = |query: &str| {
        let path = format!("/products?{query}");
        let app = &app;
        async move { app.listed_ids(&path, None).await }
    };
    assert_eq!(
        listed("").await,
        [c.clone(), b.clone(), a.clone()],
        "newest first by default"
    );
    assert_eq!(
        listed("sort=newest").await,
        [c.clone(), b.clone(), a.clone()]
    );
    assert_eq!(
        listed("sort=price_asc").await,
        [a.clone(), c.clone(), b.clone()]
    );
    assert_eq!(
        listed("sort=price_desc").await,
        [b.clone(), c.clone(), a.clone()]
    );
    assert_eq!(listed("category=tea_coffee").await, [b.clone()]);
    // Đồng Tháp: 87 on the 2008 map, now part of 82 on the current one (the default).
    assert_eq!(listed("province_code=87&map=2008").await, [c.clone()]);
    assert_eq!(listed("province_code=82").await, [c.clone()]);
    assert!(listed("province_code=87").await.is_empty());
    assert_eq!(
        listed(&format!("household_id={north}")).await,
        [b.clone(), a.clone()]
    );
    assert_eq!(listed("certification=VietGAP").await, [a.clone()]);
    assert_eq!(listed("certification=organic").await, [c.clone()]);
    assert_eq!(listed("min_price_vnd=40000").await, [c.clone(), b.clone()]);
    assert_eq!(listed("max_price_vnd=45000").await, [c.clone(), a.clone()]);
    assert_eq!(
        listed("min_price_vnd=30000&max_price_vnd=30000").await,
        [a.clone()]
    );
    assert_eq!(listed("in_stock=true").await, [c.clone(), a.clone()]);
    assert_eq!(listed("in_stock=false").await.len(), 3);
    assert_eq!(
        listed("in_stock=true&province_code=24&sort=price_desc").await,
        [a.clone()]
    );

    for _ in 0..3 {
        assert_eq!(app.get(&format!("/products/{b}"), None).await.status, 200);
    }
    assert_eq!(app.get(&format!("/products/{a}"), None).await.status, 200);
    eventually("views are written", || async {
        listed("sort=popular").await == [b.clone(), a.clone(), c.clone()]
    })
    .await;

    for query in [
        "sort=cheapest",
        "category=meat",
        "certification=ISO",
        "province_code=Hanoi",
        "household_id=abc",
        "min_price_vnd=-1",
        "min_price_vnd=5&max_price_vnd=4",
        "status=gone",
    ] {
        app.get(&format!("/products?{query}"), None)
            .await
            .assert_problem(422, "validation_failed");
    }
    for query in ["min_price_vnd=abc", "in_stock=maybe", "per_page=x"] {
        app.get(&format!("/products?{query}"), None)
            .await
            .assert_problem(400, "malformed_request");
    }
}

async fn archived_paused_and_suspended_products_are_hidden_from_the_public(app: TestApp) {
    let owner = app.signed_in("farmer").await;
    let stranger = app.signed_in("farmer").await;
    let admin = app.signed_in_admin().await;
    let household = id(&app.household(&owner, "Hộ ông Sáu", "87").await);
    let archived = id(&app
        .product(&owner, &household, json!({"name": "Xoài cát"}))
        .await);
    let paused = id(&app
        .product(
            &owner,
            &household,
            json!({"name": "Sen", "status": "paused"}),
        )
        .await);
    let active = id(&app
        .product(&owner, &household, json!({"name": "Lúa"}))
        .await);

    let deleted = app
        .delete(&format!("/products/{archived}"), Some(&owner))
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        app.delete(&format!("/products/{archived}"), Some(&owner))
            .await
            .status,
        204,
        "idempotent"
    );
    for hidden in [&archived, &paused] {
        let path = format!("/products/{hidden}");
        app.get(&path, None).await.assert_problem(404, "not_found");
        app.get(&path, Some(&stranger))
            .await
            .assert_problem(404, "not_found");
        assert_eq!(app.get(&path, Some(&owner)).await.status, 200);
        assert_eq!(app.get(&path, Some(&admin)).await.status, 200);
        app.patch(&path, Some(&stranger), json!({"price_vnd": 5}))
            .await
            .assert_problem(404, "not_found");
    }
    assert_eq!(
        app.get(&format!("/products/{archived}"), Some(&owner))
            .await
            .json()["status"],
        "archived"
    );
    assert_eq!(app.listed_ids("/products", None).await, [active.clone()]);
    assert_eq!(
        app.listed_ids("/products", Some(&owner)).await,
        [active.clone()]
    );

    // Owners see their own by status within their household; admins anywhere.
    let by_status = format!("/products?household_id={household}&status=archived");
    assert_eq!(
        app.listed_ids(&by_status, Some(&owner)).await,
        [archived.clone()]
    );
    assert_eq!(
        app.listed_ids("/products?status=paused", Some(&admin))
            .await,
        [paused.clone()]
    );
    app.get(&by_status, None)
        .await
        .assert_problem(401, "unauthenticated");
    app.get(&by_status, Some(&stranger))
        .await
        .assert_problem(403, "forbidden");
    app.get("/products?status=paused", Some(&owner))
        .await
        .assert_problem(403, "forbidden");

    // Restoring an archived product lists it again.
    let restored = app
        .patch(
            &format!("/products/{archived}"),
            Some(&owner),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(restored.json()["status"], "active");
    assert_eq!(app.listed_ids("/products", None).await.len(), 2);

    // A suspended household's products vanish from the public, not from the owner.
    app.patch(
        &format!("/households/{household}"),
        Some(&admin),
        json!({"status": "suspended"}),
    )
    .await;
    assert!(app.listed_ids("/products", None).await.is_empty());
    app.get(&format!("/products/{active}"), None)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get(&format!("/products/{active}"), Some(&owner))
            .await
            .status,
        200
    );
    app.get("/products/not-an-id", None)
        .await
        .assert_problem(404, "not_found");
}

async fn product_page_views_are_counted(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let household = id(&app.household(&farmer, "Hộ ông Hùng", "24").await);
    let product = id(&app.product(&farmer, &household, json!({})).await);
    let path = format!("/products/{product}");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(app.get(&path, None).await.json()["views"].as_i64().unwrap());
    }
    assert_eq!(
        seen,
        [1, 2, 3],
        "each opening counts, including not-yet-written ones"
    );
    // A missing product counts nothing and a listing is not a view.
    app.get(&format!("/products/{}", uuid::Uuid::now_v7()), None)
        .await;
    app.get("/products", None).await;

    // Another server sees the views once they are written.
    let other = RunningServer::start(test_settings(&app.database.url)).await;
    let client = app.client.clone();
    let url = format!("{}/api/v1/products?household_id={household}", other.address);
    eventually("views reach the database", || {
        let client = client.clone();
        let url = url.clone();
        async move {
            let page: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
            page["items"][0]["views"] == 3
        }
    })
    .await;
    other.stop().await;
    assert_eq!(
        ids(&app.get("/products", None).await.json()["items"]),
        [product]
    );
}

/// Anonymous listings may be served from memory for `catalogue.cache_ttl`; signed-in callers and
/// status listings never are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_listings_are_cached_briefly() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, |s| {
        s.catalogue.cache_ttl = std::time::Duration::from_millis(800);
    })
    .await
    .unwrap();
    let farmer = app.signed_in("farmer").await;
    let household = id(&app.household(&farmer, "Hộ ông Hùng", "24").await);
    let first = id(&app
        .product(&farmer, &household, json!({"name": "Cam sành"}))
        .await);
    assert_eq!(
        app.listed_ids("/products?q=cam", None).await,
        [first.clone()]
    );
    let second = id(&app
        .product(&farmer, &household, json!({"name": "Cam canh"}))
        .await);
    assert_eq!(
        app.listed_ids("/products?q=cam", None).await,
        [first.clone()],
        "served from the cache"
    );
    assert_eq!(
        app.listed_ids("/products?q=cam", Some(&farmer)).await.len(),
        2,
        "signed in: never cached"
    );
    eventually("the cached answer expires", || async {
        app.listed_ids("/products?q=cam", None).await.len() == 2
    })
    .await;
    assert!(
        app.listed_ids("/products?q=cam", None)
            .await
            .contains(&second)
    );
}

/// `stock_adjustment` adds to the stock as it is when the change is applied: the farmer who
/// brings in 5 more boxes while buyers order never undoes a sale, as setting the stock they
/// read a moment ago would.
async fn a_stock_adjustment_adds_to_the_stock_as_it_is_then(app: TestApp) {
    let (farmer, _, product) = app.seller_with_product(40, json!({})).await;
    let path = format!("/products/{product}");
    let adjust = |change: Value| {
        let (app, path, farmer) = (&app, &path, &farmer);
        async move { app.patch(path, Some(farmer), change).await }
    };
    let buyers: Vec<String> =
        futures_util::future::join_all((0..20).map(|_| app.signed_in("buyer"))).await;
    let orders = buyers
        .iter()
        .map(|buyer| app.place_order(buyer, json!([{"product_id": product, "quantity": 1}]), None));
    let additions = (0..10).map(|_| adjust(json!({"stock_adjustment": 5})));
    let (placed, added) = futures_util::future::join(
        futures_util::future::join_all(orders),
        futures_util::future::join_all(additions),
    )
    .await;
    for answer in &added {
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let sold = placed.iter().filter(|a| a.status == 201).count() as i64;
    assert_eq!(
        sold, 20,
        "40 in stock and more coming: every buyer is served"
    );
    assert_eq!(app.stock_of(&farmer, &product).await, 40 + 10 * 5 - sold);

    // Taking off more than there is, a result past the bound, or both fields: 422, nothing changed.
    for (change, field) in [
        (json!({"stock_adjustment": -71}), "stock_adjustment"),
        (
            json!({"stock_adjustment": 1_000_000_000i64}),
            "stock_adjustment",
        ),
        (json!({"stock_adjustment": i64::MIN}), "stock_adjustment"),
        (
            json!({"stock_adjustment": 1, "stock_quantity": 3}),
            "stock_adjustment",
        ),
        (json!({"stock_adjustment": "5"}), "stock_adjustment"),
    ] {
        let answer = adjust(change.clone()).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.problem_fields(), [field], "{change}");
    }
    assert_eq!(app.stock_of(&farmer, &product).await, 70);
    let emptied = adjust(json!({"stock_adjustment": -70})).await;
    assert_eq!(emptied.status, 200, "{}", emptied.text);
    assert_eq!(emptied.json()["stock_quantity"], 0);
    app.assert_rollups_exact();
}
