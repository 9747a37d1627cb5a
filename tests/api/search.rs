//! The catalogue's search index as buyers meet it: folding, ranking (exact diacritics, phrases,
//! in stock first), typos by word length, prefixes, facets, suggestions, filters and sorts with
//! `q`, and freshness on a second server.

use std::time::{Duration, Instant};

use crate::helpers::ServerProcess;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::{on_both_backends, with_each_backend};

fn q(path: &str, query: &str) -> String {
    format!("{path}{}", urlencode(query))
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A farmer with a household; returns (token, household id).
async fn farm(app: &TestApp) -> (String, String) {
    let farmer = app.signed_in("farmer").await;
    let household = id(&app.household(&farmer, "Hợp tác xã Tân Lập", "24").await);
    (farmer, household)
}

async fn listed(app: &TestApp, path: &str) -> Vec<String> {
    app.listed_ids(path, None).await
}

async fn exact_diacritics_and_phrases_rank_first(app: TestApp) {
    let (farmer, household) = farm(&app).await;
    let product = |fields: Value| {
        let (app, farmer, household) = (&app, &farmer, &household);
        async move { id(&app.product(farmer, household, fields).await) }
    };
    let beef = product(json!({"name": "Thịt bò khô Gia Lai", "category": "processed"})).await;
    let cake = product(json!({"name": "Sâm bố chính", "category": "processed"})).await;
    let avocado = product(json!({"name": "Bơ sáp Đắk Lắk"})).await;
    let beef_again = product(json!({"name": "Bò một nắng", "category": "processed"})).await;
    let found = listed(&app, &q("/products?q=", "bơ")).await;
    assert_eq!(found.len(), 4, "bơ folds to bo: every bo matches");
    assert_eq!(found[0], avocado, "the exact diacritics rank first");
    let folded = listed(&app, &q("/products?q=", "bo")).await;
    assert_eq!(folded.len(), 4);
    for other in [&beef, &cake, &beef_again] {
        assert!(found.contains(other));
    }

    // `thanh long` the fruit above a Thanh Hà listing that also says `long`; the Thanh Hà
    // listing is newer, so only the phrase can put the fruit first.
    let dragon_fruit = product(json!({"name": "Thanh long ruột đỏ Bình Thuận"})).await;
    let thanh_ha = product(json!({"name": "Vải Thanh Hà",
        "description": "Cùi dày, vỏ mỏng, để lâu không long cuống"}))
    .await;
    assert_eq!(
        listed(&app, &q("/products?q=", "thanh long")).await,
        [dragon_fruit.clone(), thanh_ha.clone()]
    );
    // In stock before out of stock, whatever the match.
    app.patch(
        &format!("/products/{dragon_fruit}"),
        Some(&farmer),
        json!({"stock_quantity": 0}),
    )
    .await;
    assert_eq!(
        listed(&app, &q("/products?q=", "thanh long")).await,
        [thanh_ha.clone(), dragon_fruit.clone()]
    );
    // Another sort keeps `q` as a filter.
    assert_eq!(
        listed(&app, &q("/products?sort=newest&q=", "thanh long")).await,
        [thanh_ha, dragon_fruit]
    );
}

async fn typos_are_forgiven_by_word_length_and_the_last_word_is_a_prefix(app: TestApp) {
    let (farmer, household) = farm(&app).await;
    let lychee = id(&app
        .product(&farmer, &household, json!({"name": "Vải thiều Lục Ngạn"}))
        .await);
    let coffee = id(&app
        .product(
            &farmer,
            &household,
            json!({"name": "Cà phê Robusta specialty", "category": "processed"}),
        )
        .await);
    let search = |text: &'static str| {
        let app = &app;
        async move { listed(app, &q("/products?q=", text)).await }
    };
    // Under 5 letters: no typo.
    assert!(search("vao thieu").await.is_empty(), "vao is not vai");
    assert!(search("cx phe").await.is_empty());
    // 5 to 8 letters: one typo (a swap counts as one); two are too many.
    assert_eq!(search("vai thiue ").await, [lychee.clone()]);
    assert_eq!(search("vai thieo ").await, [lychee.clone()]);
    assert!(search("vai thxxu ").await.is_empty());
    assert_eq!(search("robsuta ").await, [coffee.clone()]);
    // 9 letters and more: two typos.
    assert_eq!(search("spexialti ").await, [coffee.clone()]);
    assert!(search("spexxaltx ").await.is_empty());
    // The last word is a prefix (not when a space follows it).
    assert_eq!(search("vai th").await, [lychee.clone()]);
    assert_eq!(search("luc ng").await, [lychee.clone()]);
    assert_eq!(
        search("thieu l").await,
        [lychee.clone()],
        "one letter after a word: the words that follow it so"
    );
    assert!(
        search("vai l").await.is_empty(),
        "Lục follows thiều, not vải"
    );
    assert!(search("vai th ").await.is_empty());
    assert_eq!(search("ca phe rob").await, [coffee]);
}

async fn facets_count_each_value_with_the_other_filters(app: TestApp) {
    let (farmer, household) = farm(&app).await;
    let hanoi = id(&app.household(&farmer, "Hộ bà Lan", "01").await);
    for (home, fields) in [
        (
            &household,
            json!({"name": "Vải thiều loại 1", "price_vnd": 45_000, "certifications": ["VietGAP"]}),
        ),
        (
            &household,
            json!({"name": "Vải thiều sấy khô", "category": "processed", "price_vnd": 150_000}),
        ),
        (
            &hanoi,
            json!({"name": "Vải thiều Thanh Hà", "price_vnd": 60_000, "certifications": ["VietGAP", "OCOP"], "ocop_stars": 4}),
        ),
        (
            &hanoi,
            json!({"name": "Rau muống", "category": "vegetable", "price_vnd": 15_000}),
        ),
    ] {
        app.product(&farmer, home, fields).await;
    }
    let answer = app
        .get(
            &q(
                "/products?category=fruit&facets=category,province_code,certification,price&q=",
                "vai thieu",
            ),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["total"], 2);
    let facets = &body["facets"];
    // The category facet ignores the category filter: the dried lychee shows as processed.
    assert_eq!(
        facets["category"],
        json!([{"value": "fruit", "count": 2}, {"value": "processed", "count": 1}])
    );
    // The others count within fruit (current map: province 24 and 01).
    assert_eq!(
        facets["province_code"],
        json!([{"value": "01", "count": 1}, {"value": "24", "count": 1}])
    );
    assert_eq!(
        facets["certification"],
        json!([{"value": "VietGAP", "count": 2}, {"value": "OCOP", "count": 1}])
    );
    let price = facets["price"].as_array().unwrap();
    assert_eq!(price[0], json!({"from": 0, "to": 50_000, "count": 1}));
    assert_eq!(price[1], json!({"from": 50_000, "to": 100_000, "count": 1}));
    assert_eq!(
        price
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    assert!(
        price.last().unwrap().get("to").is_none(),
        "the last bucket is open"
    );
    // Without `facets` the answer has none; an unknown facet is refused by name.
    assert!(
        app.get("/products", None)
            .await
            .json()
            .get("facets")
            .is_none()
    );
    app.get("/products?facets=colour", None)
        .await
        .assert_problem(422, "validation_failed");
}

async fn suggestions_complete_names_as_the_buyer_types(app: TestApp) {
    let (farmer, household) = farm(&app).await;
    let mut ids = Vec::new();
    for name in [
        "Vải thiều Lục Ngạn",
        "Vải thiều Lục Ngạn",
        "Vải thiều Thanh Hà",
        "Vải lai",
        "Cam sành",
    ] {
        let product = app
            .product(&farmer, &household, json!({"name": name}))
            .await;
        ids.push(product["id"].as_str().unwrap().to_owned());
    }
    let suggest = |text: &'static str| {
        let app = &app;
        async move {
            let answer = app.get(&q("/products/suggest?q=", text), None).await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            answer.json()["suggestions"].clone()
        }
    };
    assert_eq!(
        suggest("vai th").await,
        json!(["Vải thiều Lục Ngạn", "Vải thiều Thanh Hà"]),
        "the name most listings share first"
    );
    assert_eq!(suggest("VẢI THIỀU T").await, json!(["Vải thiều Thanh Hà"]));
    assert_eq!(
        suggest("vai").await.as_array().unwrap().len(),
        3,
        "distinct names"
    );
    assert_eq!(suggest("xoai").await, json!([]));
    assert_eq!(suggest("").await, json!([]));

    // Changes show in the suggestions within the 2 s searches promise (the names read a moment
    // before answer while the new ones are read): a renamed product under its new name only, a
    // paused one not at all.
    for (id, change) in [
        (&ids[0], json!({"name": "Xoài cát"})),
        (&ids[2], json!({"status": "paused"})),
    ] {
        let answer = app
            .patch(&format!("/products/{id}"), Some(&farmer), change)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let changed = Instant::now();
    eventually("the suggestions show the changes", || async {
        suggest("xoai").await == json!(["Xoài cát"])
            && suggest("vai th").await == json!(["Vải thiều Lục Ngạn"])
    })
    .await;
    assert!(
        changed.elapsed() < Duration::from_secs(2),
        "{:?}",
        changed.elapsed()
    );
    let long = "a".repeat(201);
    app.get(&format!("/products/suggest?q={long}"), None)
        .await
        .assert_problem(422, "validation_failed");
}

async fn filters_and_sorts_apply_with_q(app: TestApp) {
    let (farmer, household) = farm(&app).await;
    let south = id(&app.household(&farmer, "Hộ ông Ba", "79").await);
    let product = |home: &String, fields: Value| {
        let (app, farmer, home) = (&app, &farmer, home.clone());
        async move { id(&app.product(farmer, &home, fields).await) }
    };
    let cheap = product(
        &household,
        json!({"name": "Vải thiều loại 2", "price_vnd": 20_000}),
    )
    .await;
    let dear = product(
        &household,
        json!({"name": "Vải thiều loại 1", "price_vnd": 80_000,
        "certifications": ["VietGAP"]}),
    )
    .await;
    let southern = product(
        &south,
        json!({"name": "Vải thiều miền Nam", "price_vnd": 50_000,
        "stock_quantity": 0}),
    )
    .await;
    let dried = product(
        &household,
        json!({"name": "Vải thiều sấy", "category": "processed",
        "price_vnd": 120_000}),
    )
    .await;
    product(&household, json!({"name": "Cam sành", "price_vnd": 10_000})).await;
    let search = |query: String| {
        let app = &app;
        async move { listed(app, &format!("/products?q=vai%20thieu&{query}")).await }
    };
    let all = |ids: &[&String]| ids.iter().map(|id| (*id).clone()).collect::<Vec<_>>();
    assert_eq!(
        search("sort=price_asc".into()).await,
        all(&[&cheap, &southern, &dear, &dried])
    );
    assert_eq!(
        search("sort=price_desc".into()).await,
        all(&[&dried, &dear, &southern, &cheap])
    );
    assert_eq!(
        search("sort=newest".into()).await,
        all(&[&dried, &southern, &dear, &cheap])
    );
    assert_eq!(search("category=processed".into()).await, all(&[&dried]));
    assert_eq!(
        search("province_code=79&map=2008".into()).await,
        all(&[&southern])
    );
    assert_eq!(
        search(format!("household_id={south}")).await,
        all(&[&southern])
    );
    assert_eq!(search("certification=VietGAP".into()).await, all(&[&dear]));
    assert_eq!(
        search("min_price_vnd=50000&max_price_vnd=80000&sort=price_asc".into()).await,
        all(&[&southern, &dear])
    );
    assert_eq!(
        search("in_stock=true&sort=price_asc".into()).await,
        all(&[&cheap, &dear, &dried])
    );
    let page = app
        .get(
            "/products?q=vai%20thieu&sort=price_asc&per_page=2&page=2",
            None,
        )
        .await
        .json();
    assert_eq!(
        (page["total"].clone(), ids(&page["items"])),
        (json!(4), all(&[&dear, &dried]))
    );
    // Popular: by views, once they are written (views.flush_interval).
    for _ in 0..2 {
        app.get(&format!("/products/{dried}"), None).await;
    }
    app.get(&format!("/products/{cheap}"), None).await;
    eventually("views reach the index", || async {
        search("sort=popular".into()).await[..2] == all(&[&dried, &cheap])
    })
    .await;
    app.get("/products?q=vai&sort=best", None)
        .await
        .assert_problem(422, "validation_failed");
    // Pages reach the 10,000th match, not beyond (each deeper page costs memory).
    assert_eq!(
        app.get("/products?q=vai&page=500&per_page=20", None)
            .await
            .status,
        200
    );
    let deep = app.get("/products?q=vai&page=501&per_page=20", None).await;
    deep.assert_problem(422, "validation_failed");
    assert_eq!(deep.problem_fields(), ["page"]);
}

on_both_backends!(
    exact_diacritics_and_phrases_rank_first,
    typos_are_forgiven_by_word_length_and_the_last_word_is_a_prefix,
    facets_count_each_value_with_the_other_filters,
    suggestions_complete_names_as_the_buyer_types,
    filters_and_sorts_apply_with_q,
);

/// Searches that may visit more than `catalogue.quick_search_listings` queue for the search
/// threads, each client's in its own line, the clients in turn. With every search counted large
/// and one such thread, a burst of searches from several clients (behind a trusted proxy)
/// answers each as it does alone, and the filters and sorts answer as they do where they run at
/// once.
async fn large_searches_wait_their_turn_and_answer_alike(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.catalogue.quick_search_listings = 0;
        settings.catalogue.search_threads = 1;
        settings.auth.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let (farmer, household) = farm(&app).await;
    for n in 0..12 {
        let stock = if n % 4 == 0 { 0 } else { n };
        app.product(
            &farmer,
            &household,
            json!({"name": format!("Nhãn lồng Hưng Yên {n}"), "price_vnd": 20_000 + n * 5_000,
                "stock_quantity": stock}),
        )
        .await;
    }
    let paths = [
        q("/products?q=", "nhãn lồng"),
        q("/products?sort=price_desc&per_page=5&page=2&q=", "nhan"),
        q("/products?sort=newest&in_stock=true&q=", "nhan l"),
        q(
            "/products?facets=category,price&max_price_vnd=50000&q=",
            "hung yen",
        ),
    ];
    let mut alone = Vec::new();
    for path in &paths {
        let answer = app.get(path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        alone.push(answer.json());
    }
    assert_eq!(alone[0]["total"], 12);
    assert_eq!(ids(&alone[1]["items"]).len(), 5);
    assert_eq!(alone[2]["total"], 9);
    assert_eq!(alone[3]["total"], 7);
    // One client floods, two others ask a few times each.
    let clients = [
        "198.51.100.7",
        "198.51.100.7",
        "198.51.100.7",
        "203.0.113.1",
        "203.0.113.2",
    ];
    let burst = (0..8)
        .flat_map(|round| {
            paths
                .iter()
                .enumerate()
                .map(move |(i, path)| (round, i, path))
        })
        .map(|(round, i, path)| {
            let (app, client) = (&app, clients[(round + i) % clients.len()]);
            async move {
                let answer = app
                    .client
                    .get(app.url(path))
                    .header("X-Forwarded-For", client)
                    .send()
                    .await
                    .unwrap();
                let status = answer.status().as_u16();
                (i, status, answer.json::<Value>().await.unwrap())
            }
        });
    for (i, status, answer) in futures_util::future::join_all(burst).await {
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer, alone[i], "{}", paths[i]);
    }
    filters_and_sorts_apply_with_q(app).await;
}

with_each_backend!(large_searches_wait_their_turn_and_answer_alike);

/// A suspended household's products leave the search on another server within 2 s, and a new
/// product shows up there as soon.
async fn changes_reach_every_server_within_two_seconds(app: TestApp) {
    let (farmer, household) = farm(&app).await;
    let product = id(&app
        .product(&farmer, &household, json!({"name": "Nhãn lồng Hưng Yên"}))
        .await);
    let other = RunningServer::start(test_settings(&app.database.url)).await;
    let client = app.client.clone();
    let search_there = |text: &str| {
        let url = format!("{}/api/v1/products?q={}", other.address, urlencode(text));
        let client = client.clone();
        async move {
            let page: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
            ids(&page["items"])
        }
    };
    assert_eq!(
        search_there("nhan long").await,
        [product.clone()],
        "built at start"
    );

    let admin = app.signed_in_admin().await;
    let started = Instant::now();
    let answer = app
        .patch(
            &format!("/households/{household}"),
            Some(&admin),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    while !search_there("nhan long").await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "still listed after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // On the server that made the change, at once.
    assert!(
        listed(&app, &q("/products?q=", "nhan long"))
            .await
            .is_empty()
    );

    app.patch(
        &format!("/households/{household}"),
        Some(&admin),
        json!({"status": "active"}),
    )
    .await;
    let started = Instant::now();
    let fresh = id(&app
        .product(&farmer, &household, json!({"name": "Nhãn xuồng cơm vàng"}))
        .await);
    loop {
        let found = search_there("nhan").await;
        if found.contains(&fresh) && found.contains(&product) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "not found after 2 s: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    other.stop().await;
}

on_both_backends!(changes_reach_every_server_within_two_seconds);

/// The on-disk index: built at the first start, reopened after a kill (catching up with what
/// changed meanwhile), rebuilt when its files are garbage or cut short.
async fn a_broken_index_is_rebuilt_and_a_sound_one_reopened(app: TestApp) {
    let (farmer, household) = farm(&app).await;
    let first = id(&app
        .product(&farmer, &household, json!({"name": "Chôm chôm Chợ Gạo"}))
        .await);
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("catalogue-index");
    let index_dir = index.to_str().unwrap();
    let search = |server: &ServerProcess| {
        let url = format!(
            "{}/api/v1/products?q=chom%20chom&sort=newest",
            server.address
        );
        let client = app.client.clone();
        async move {
            let page: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
            ids(&page["items"])
        }
    };
    const BUILT: &str = "built the catalogue index";
    let mut server = ServerProcess::start_with_index(&app.database.url, index_dir);
    assert!(server.logged(BUILT));
    assert_eq!(search(&server).await, [first.clone()]);

    server.kill();
    let second = id(&app
        .product(&farmer, &household, json!({"name": "Chôm chôm nhãn"}))
        .await);
    let mut server = ServerProcess::start_with_index(&app.database.url, index_dir);
    assert!(
        !server.logged(BUILT),
        "a sound index is reopened, not rebuilt"
    );
    assert_eq!(
        search(&server).await,
        [second.clone(), first.clone()],
        "what changed while it was down is caught up before it listens"
    );

    server.kill();
    std::fs::write(index.join("meta.json"), b"{ not json").unwrap();
    let mut server = ServerProcess::start_with_index(&app.database.url, index_dir);
    assert!(server.logged(BUILT), "garbage meta.json: rebuilt");
    assert_eq!(search(&server).await, [second.clone(), first.clone()]);

    server.kill();
    for entry in std::fs::read_dir(&index).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n != "meta.json" && !n.to_string_lossy().starts_with('.'))
        {
            let length = std::fs::metadata(&path).unwrap().len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(length / 2)
                .unwrap();
        }
    }
    let server = ServerProcess::start_with_index(&app.database.url, index_dir);
    assert!(server.logged(BUILT), "cut files: rebuilt");
    assert_eq!(search(&server).await, [second, first]);
}

on_both_backends!(a_broken_index_is_rebuilt_and_a_sound_one_reopened);
