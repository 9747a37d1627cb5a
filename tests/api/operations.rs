//! Health, readiness and metrics.

use serde_json::json;
use std::time::Duration;

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_backends;

on_both_backends!(
    health_and_readiness_answer,
    metrics_count_requests_by_route_template
);

async fn health_and_readiness_answer(app: TestApp) {
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
}

async fn metrics_count_requests_by_route_template(app: TestApp) {
    app.signed_in("buyer").await;
    app.get("/no-such-path-123", None).await;
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.content_type().starts_with("text/plain"),
        "{}",
        metrics.content_type()
    );
    let text = &metrics.text;
    assert!(
        text.contains(r#"nongsan_http_requests_total{endpoint="/api/v1/auth/login",method="POST",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("nongsan_http_requests_duration_seconds_bucket"));
    assert!(text.contains("nongsan_db_pool_connections_in_use"));
    assert!(text.contains("nongsan_db_pool_waiting"));
    assert!(
        !text.contains("no-such-path-123"),
        "unmatched paths must not become series"
    );
}

/// When PostgreSQL loses the database the server answers 503 `unavailable`, not 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_when_the_database_is_gone() {
    let Some(app) = spawn_app_with(Backend::Postgres, |s| {
        s.database.connect_timeout = Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let token = app.signed_in("buyer").await;
    assert_eq!(app.get("/readyz", None).await.status, 200);
    let database_url = app.database.url.clone();
    let name = database_url.rsplit('/').next().unwrap().to_owned();
    {
        use diesel::{Connection, RunQueryDsl};
        let mut admin = diesel::PgConnection::establish(&crate::helpers::pg_admin_url()).unwrap();
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
    }
    app.get("/readyz", None)
        .await
        .assert_problem(503, "unavailable");
    let me = app.get("/me", Some(&token)).await;
    me.assert_problem(503, "unavailable");
    assert!(
        !me.text.to_lowercase().contains("postgres"),
        "no internals: {}",
        me.text
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

on_both_backends!(every_route_is_in_the_openapi_document_and_the_docs_are_served);

async fn every_route_is_in_the_openapi_document_and_the_docs_are_served(app: TestApp) {
    let document = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(document.status, 200);
    let document = document.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = std::collections::BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    // /metrics is served by middleware, not by a registered handler.
    let served_by_middleware = ("get".to_owned(), "/metrics".to_owned());
    assert!(documented.remove(&served_by_middleware));
    let registered = nongsan::api::registered_routes();
    assert!(!registered.is_empty());
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    assert!(document["components"]["schemas"]["Problem"].is_object());

    // Paged answers name their item schema, so a generated client gets `ProductView` items.
    for (path, item) in [
        ("/api/v1/products", "ProductView"),
        ("/api/v1/households", "HouseholdView"),
        ("/api/v1/orders", "OrderView"),
    ] {
        let answer = &document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        let page_ref = answer["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {answer}"));
        let page_name = page_ref.trim_start_matches("#/components/schemas/");
        let page = &document["components"]["schemas"][page_name];
        assert_eq!(
            page["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{item}"),
            "{path}: {page}"
        );
        let mut fields: Vec<&str> = page["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        // The catalogue's page may carry facet counts.
        fields.retain(|field| !(path == "/api/v1/products" && *field == "facets"));
        assert_eq!(fields, ["items", "page", "per_page", "total"], "{path}");
    }
    // Status enums are documented with the texts the API answers.
    for (schema, values) in [
        (
            "OrderStatus",
            json!(["placed", "confirmed", "shipped", "delivered", "cancelled"]),
        ),
        ("Role", json!(["farmer", "buyer", "admin"])),
        ("ProvinceMap", json!(["current", "2008"])),
    ] {
        assert_eq!(
            document["components"]["schemas"][schema]["enum"], values,
            "{schema}"
        );
    }
    // Every reference resolves to a declared schema.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let name = reference
            .split('"')
            .next()
            .unwrap()
            .trim_start_matches("#/components/schemas/");
        assert!(
            document["components"]["schemas"][name].is_object(),
            "dangling reference {name}"
        );
    }

    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, 200);
    assert!(docs.content_type().starts_with("text/html"));
    assert!(
        !docs.text.contains("http://") && !docs.text.contains("https://"),
        "no other host: {}",
        docs.text
    );
    let bundle = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status, 200);
    let initializer = app.get("/docs/swagger-initializer.js", None).await;
    assert!(initializer.text.contains("/api/v1/openapi.json"));
}

/// A PostgreSQL outage (connections cut, new ones refused) answers 503 `unavailable`, and the
/// server recovers by itself once the database is back: no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_rides_out_a_database_outage() {
    use diesel::{Connection, RunQueryDsl};
    let Some(app) = spawn_app_with(Backend::Postgres, |s| {
        s.database.connect_timeout = Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let token = app.signed_in("buyer").await;
    // A listed product: the catalogue's index keeps serving it while the database is away.
    let farmer = app.signed_in("farmer").await;
    let household = crate::helpers::id(&app.household(&farmer, "Hộ ông Hùng", "24").await);
    let product = crate::helpers::id(&app.product(&farmer, &household, json!({})).await);
    let name = app.database.url.rsplit('/').next().unwrap().to_owned();
    let mut admin = diesel::PgConnection::establish(&crate::helpers::pg_admin_url()).unwrap();
    let mut admin_sql = |sql: String| {
        diesel::sql_query(sql).execute(&mut admin).unwrap();
    };
    admin_sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    admin_sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ));
    for _ in 0..3 {
        app.get("/readyz", None)
            .await
            .assert_problem(503, "unavailable");
        let me = app.get("/me", Some(&token)).await;
        me.assert_problem(503, "unavailable");
        assert!(me.headers.contains_key("retry-after"));
        assert_eq!(
            app.listed_ids("/products?q=vai", None).await,
            [product.clone()],
            "search answers from the index"
        );
        app.get(&format!("/products/{product}"), None)
            .await
            .assert_problem(503, "unavailable");
    }
    assert_eq!(
        app.get("/healthz", None).await.status,
        200,
        "alive while the database is away"
    );
    admin_sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    crate::helpers::eventually("the server serves again", || async {
        app.get("/readyz", None).await.status == 200
    })
    .await;
    assert_eq!(
        app.get("/me", Some(&token)).await.status,
        200,
        "the token still works"
    );
}
