//! Abuse: input meant to hurt others (spreadsheet formulas in names, huge queries, invented
//! methods, pumped view counts, floods of bad import lines) and what the server exposes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, Backend, TestApp, binary, ndjson_lines, send, spawn_app_with};
use crate::{on_both_backends, with_each_backend};

on_both_backends!(
    csv_cells_that_start_like_formulas_are_quoted,
    search_and_other_query_parameters_are_bounded,
    unknown_methods_share_one_metrics_label,
    every_answer_says_nosniff,
    an_import_lists_the_first_thousand_bad_lines_and_counts_the_rest,
);

with_each_backend!(
    one_client_opening_a_product_ten_times_counts_one_view,
    distinct_clients_each_count_a_view,
    metrics_can_have_an_address_of_their_own,
);

async fn import(app: &TestApp, token: &str, lines: &[Value]) -> Answer {
    app.import(token, ndjson_lines(lines)).await
}

/// The cells of a CSV answer (byte-order mark stripped), header row first.
fn csv_rows(answer: &Answer) -> Vec<Vec<String>> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.content_type().starts_with("text/csv"));
    let body = answer
        .text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]))
}

const EVIL_NAME: &str = r#"=HYPERLINK("http://evil.example","Vải")"#;

async fn csv_cells_that_start_like_formulas_are_quoted(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let lines = [
        json!({"kind": "household", "ref": "h1", "name": "@SUM(1+1)", "province_code": "24",
               "joined_at": "2019-01-01T00:00:00Z"}),
        json!({"kind": "product", "ref": "p1", "household": "h1", "name": EVIL_NAME,
               "category": "fruit", "unit": "kg", "unit_weight_grams": 1000, "price_vnd": 30000,
               "created_at": "2019-02-01T00:00:00Z"}),
        json!({"kind": "product", "ref": "p2", "household": "h1", "name": "-2+3",
               "category": "fruit", "unit": "kg", "unit_weight_grams": 1000, "price_vnd": 10000,
               "created_at": "2019-02-01T00:00:00Z"}),
        json!({"kind": "order", "household": "h1", "placed_at": "2020-06-10T03:00:00Z",
               "items": [{"product": "p1", "quantity": 500}, {"product": "p2", "quantity": 1}]}),
        json!({"kind": "order", "household": "h1", "placed_at": "2021-06-10T03:00:00Z",
               "items": [{"product": "p1", "quantity": 100}, {"product": "p2", "quantity": 1}]}),
    ];
    let answer = import(&app, &admin, &lines).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let period = "from=2021-01-01&to=2021-12-31&compare=previous_year";
    let rows = csv_rows(
        &app.get(
            &format!("/reports/products?{period}&format=csv"),
            Some(&admin),
        )
        .await,
    );
    let (name, growth) = (column(&rows, "name"), column(&rows, "value_vnd_growth_pct"));
    let evil = rows
        .iter()
        .find(|r| r[name].contains("HYPERLINK"))
        .expect("the product's row");
    assert_eq!(evil[name], format!("'{EVIL_NAME}"));
    assert_eq!(
        evil[growth], "-80.0",
        "a number the API wrote stays a number"
    );
    let minus = rows.iter().find(|r| r[name].contains("2+3")).unwrap();
    assert_eq!(minus[name], "'-2+3");
    for row in &rows {
        for cell in row {
            let number = cell.parse::<f64>().is_ok();
            assert!(
                number || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {row:?}"
            );
        }
    }

    let rows = csv_rows(
        &app.get(
            &format!("/reports/uptake/breakdown?{period}&by=household&format=csv"),
            Some(&admin),
        )
        .await,
    );
    let label = column(&rows, "label");
    assert_eq!(rows[1][label], "'@SUM(1+1)");
}

async fn search_and_other_query_parameters_are_bounded(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let buyer = app.signed_in("buyer").await;
    let long = "a".repeat(201);
    let eleven_words = "a b c d e f g h i j k";
    let refused_naming = |answer: Answer, field: &str| {
        answer.assert_problem(422, "validation_failed");
        assert_eq!(
            answer.problem_fields(),
            [field.to_owned()],
            "{}",
            answer.text
        );
    };
    refused_naming(app.get(&format!("/products?q={long}"), None).await, "q");
    refused_naming(
        app.get(&format!("/products?q={eleven_words}"), None).await,
        "q",
    );
    refused_naming(
        app.get(&format!("/households?q={eleven_words}"), None)
            .await,
        "q",
    );
    refused_naming(
        app.get(
            &format!("/reports/products?from=2021-01-01&to=2021-12-31&q={eleven_words}"),
            Some(&admin),
        )
        .await,
        "q",
    );
    refused_naming(
        app.get(&format!("/products?utm_campaign={long}"), None)
            .await,
        "utm_campaign",
    );
    refused_naming(
        app.get(&format!("/orders?household_id={long}"), Some(&buyer))
            .await,
        "household_id",
    );
    // At the bounds, searches work.
    let ten_words = "a b c d e f g h i j";
    assert_eq!(
        app.get(&format!("/products?q={ten_words}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/households?q={}", "a".repeat(200)), None)
            .await
            .status,
        200
    );
}

/// The catalogue cache keys on the parsed query: a parameter the listing does not know (a
/// tracking tag, a cache-buster) gets the cached answer instead of a new entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_listing_parameters_make_no_new_cache_entries() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.catalogue.cache_ttl = Duration::from_secs(60);
    })
    .await
    .unwrap();
    let farmer = app.signed_in("farmer").await;
    let household = app.household(&farmer, "Hộ ông Hùng", "24").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = app
        .product(&farmer, &household, json!({"name": "Cam sành"}))
        .await;
    assert_eq!(app.listed_ids("/products?q=cam", None).await.len(), 1);
    app.product(&farmer, &household, json!({"name": "Cam canh"}))
        .await;
    for query in [
        "q=cam&utm_source=zalo",
        "utm_source=x&q=cam",
        "q=cam&_=12345",
    ] {
        assert_eq!(
            app.listed_ids(&format!("/products?{query}"), None).await,
            [first["id"].as_str().unwrap().to_owned()],
            "{query}: the cached answer"
        );
    }
    assert_eq!(
        app.listed_ids("/products?q=cam&per_page=20", None)
            .await
            .len(),
        2,
        "a parameter the listing knows is a different query"
    );
}

async fn unknown_methods_share_one_metrics_label(app: TestApp) {
    for (method, path) in [
        ("FOOBAR123", "/healthz"),
        ("FOOBAR123", "/api/v1/products"),
        ("BAZ456", "/nowhere"),
    ] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = send(app.client.request(method, app.url(path))).await;
        assert!(answer.status.is_client_error(), "{path}: {}", answer.status);
    }
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(!metrics.text.contains("FOOBAR123"), "{}", metrics.text);
    assert!(!metrics.text.contains("BAZ456"), "{}", metrics.text);
    assert!(
        metrics.text.contains(r#"method="OTHER""#),
        "{}",
        metrics.text
    );
}

fn assert_nosniff(what: &str, answer: &Answer) {
    assert_eq!(
        answer
            .headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff"),
        "{what} ({}): {:?}",
        answer.status,
        answer.headers
    );
}

async fn every_answer_says_nosniff(app: TestApp) {
    for path in [
        "/healthz",
        "/metrics",
        "/docs",
        "/api/v1/openapi.json",
        "/no/such/route",
        "/products?page=0",
        "/products/not-an-id",
        "/provinces",
    ] {
        assert_nosniff(path, &app.get(path, None).await);
    }
    assert_nosniff(
        "a malformed body",
        &app.post_raw("/auth/login", Some("application/json"), b"{".to_vec())
            .await,
    );
    assert_nosniff(
        "an unknown method",
        &send(app.client.request(
            Method::from_bytes(b"FOOBAR123").unwrap(),
            app.url("/api/v1/products"),
        ))
        .await,
    );
    assert_nosniff("a 401", &app.get("/me", None).await);
}

async fn an_import_lists_the_first_thousand_bad_lines_and_counts_the_rest(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let body = "not json\n".repeat(1500).into_bytes();
    let answer = app.import(&admin, body).await;
    let problem = answer.assert_problem(422, "import_rejected");
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1000);
    assert_eq!(errors[0]["line"], 1);
    assert_eq!(errors[999]["line"], 1000);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("1500") && detail.contains("and 500 more"),
        "{detail}"
    );
}

/// A product in a fresh household; returns its id.
async fn a_product(app: &TestApp) -> String {
    let farmer = app.signed_in("farmer").await;
    let household = app.household(&farmer, "Hộ ông Hùng", "24").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.product(&farmer, &household, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn views_in_listing(app: &TestApp) -> i64 {
    app.get("/products", None).await.json()["items"][0]["views"]
        .as_i64()
        .unwrap()
}

async fn one_client_opening_a_product_ten_times_counts_one_view(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.views.dedup_window = Duration::from_secs(600);
    })
    .await
    else {
        return;
    };
    let product = a_product(&app).await;
    let path = format!("/products/{product}");
    let mut seen = Vec::new();
    for _ in 0..10 {
        seen.push(app.get(&path, None).await.json()["views"].as_i64().unwrap());
    }
    assert_eq!(seen, [1; 10]);
    crate::helpers::eventually("the view is written", || async {
        views_in_listing(&app).await == 1
    })
    .await;
    // Written and flushed: the next flush ticks pass and the count stays one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.get(&path, None).await.json()["views"], 1);
    assert_eq!(views_in_listing(&app).await, 1);
}

async fn distinct_clients_each_count_a_view(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.views.dedup_window = Duration::from_secs(600);
        // The client address comes from X-Forwarded-For, as behind a proxy.
        s.auth.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let product = a_product(&app).await;
    let url = app.url(&format!("/products/{product}"));
    let view_from = |address: &'static str| {
        let request = app.client.get(&url).header("x-forwarded-for", address);
        async move { send(request).await.json()["views"].as_i64().unwrap() }
    };
    let mut seen = Vec::new();
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.1"] {
        seen.push(view_from(address).await);
    }
    assert_eq!(seen, [1, 2, 3, 3]);
    crate::helpers::eventually("the views are written", || async {
        views_in_listing(&app).await == 3
    })
    .await;
}

async fn metrics_can_have_an_address_of_their_own(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.metrics.bind = "127.0.0.1:0".to_owned();
    })
    .await
    else {
        return;
    };
    app.get("/healthz", None).await;
    app.get("/metrics", None)
        .await
        .assert_problem(404, "not_found");
    let metrics_address = app
        .server
        .metrics_address
        .clone()
        .expect("a metrics listener");
    let metrics = send(app.client.get(format!("{metrics_address}/metrics"))).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.content_type().starts_with("text/plain"));
    assert_nosniff("/metrics on its own address", &metrics);
    assert!(
        metrics.text.contains(
            r#"nongsan_http_requests_total{endpoint="/healthz",method="GET",status="200"} 1"#
        ),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("nongsan_db_pool_connections_in_use"));
    // Only /metrics is there: not the API.
    let api = send(app.client.get(format!("{metrics_address}/api/v1/products"))).await;
    assert_eq!(api.status, 404);
}

/// `serve --demo` loads accounts whose passwords are public: it refuses an address other
/// machines can reach unless told `--public-demo`.
#[test]
fn the_demo_refuses_a_public_address() {
    let database = std::env::temp_dir().join(format!(
        "nongsan-demo-refused-{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    let mut child = Command::new(binary())
        .args(["serve", "--demo", "--bind", "0.0.0.0:0", "--database-url"])
        .arg(&database)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nongsan");
    let remove_database = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
        }
    };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            remove_database();
            panic!("serve --demo started on 0.0.0.0");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    remove_database();
    assert!(!status.success());
    assert!(
        stderr.contains("--public-demo") && stderr.contains("0.0.0.0:0"),
        "{stderr}"
    );
}
