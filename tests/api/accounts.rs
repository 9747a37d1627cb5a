//! Account integrity: suspension by admins, the session cap and purge, the registration
//! throttle and client addresses behind proxies, bounded password hashing.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{Answer, Backend, PASSWORD, TestApp, send, spawn_app_with};
use crate::{on_both_backends, with_each_backend};

on_both_backends!(
    suspending_an_account_revokes_its_tokens_refuses_its_logins_and_hides_its_products,
    reinstating_an_account_brings_back_only_the_households_suspended_with_it,
    only_admins_see_and_change_accounts,
    a_farmer_with_a_suspended_household_cannot_open_another,
    a_login_beyond_twenty_live_tokens_revokes_the_oldest,
);

/// Registers `email` with `role`; returns (user id, token).
async fn account(app: &TestApp, email: &str, role: &str) -> (String, String) {
    let registered = app.register(email, role).await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let login = app.login(email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    (
        registered.json()["id"].as_str().unwrap().to_owned(),
        login.json()["token"].as_str().unwrap().to_owned(),
    )
}

async fn set_status(app: &TestApp, admin: &str, user_id: &str, status: &str) -> Answer {
    app.patch(
        &format!("/admin/users/{user_id}"),
        Some(admin),
        json!({"status": status}),
    )
    .await
}

/// `households_total` now (households joined up to today and not suspended).
async fn households_total(app: &TestApp, admin: &str) -> i64 {
    let today = chrono::Utc::now().date_naive();
    let path = format!(
        "/reports/uptake?from={}&to={}&compare=none",
        today - chrono::Days::new(2),
        today + chrono::Days::new(2)
    );
    let report = app.get(&path, Some(admin)).await;
    assert_eq!(report.status, 200, "{}", report.text);
    report.json()["metrics"]["households_total"]["current"]
        .as_i64()
        .unwrap()
}

async fn suspending_an_account_revokes_its_tokens_refuses_its_logins_and_hides_its_products(
    app: TestApp,
) {
    let admin = app.signed_in_admin().await;
    let (farmer_id, farmer) = account(&app, "hung@example.vn", "farmer").await;
    let second_session = app.login("hung@example.vn", PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let household = app.household(&farmer, "Hộ ông Hùng", "24").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = app.product(&farmer, &household, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let buyer = app.signed_in("buyer").await;
    assert_eq!(
        app.get(&format!("/products/{product}"), None).await.status,
        200
    );
    assert_eq!(households_total(&app, &admin).await, 1);

    let suspended = set_status(&app, &admin, &farmer_id, "suspended").await;
    assert_eq!(suspended.status, 200, "{}", suspended.text);
    let user = suspended.json();
    assert_eq!(user["id"], farmer_id.as_str());
    assert_eq!(user["email"], "hung@example.vn");
    assert_eq!(user["status"], "suspended");
    assert!(!suspended.text.contains("argon2"));

    // Every token of the account stops working at once.
    for token in [&farmer, &second_session] {
        app.get("/me", Some(token))
            .await
            .assert_problem(401, "unauthenticated");
    }
    // Only the right password learns about the suspension.
    app.login("hung@example.vn", PASSWORD)
        .await
        .assert_problem(403, "account_suspended");
    app.login("hung@example.vn", "not-the-password")
        .await
        .assert_problem(401, "invalid_credentials");

    // Its households, and so its products, are hidden from everyone but admins.
    app.get(&format!("/products/{product}"), None)
        .await
        .assert_problem(404, "not_found");
    assert!(!app.listed_ids("/products", None).await.contains(&product));
    app.get(&format!("/households/{household}"), Some(&buyer))
        .await
        .assert_problem(404, "not_found");
    let seen_by_admin = app
        .get(&format!("/households/{household}"), Some(&admin))
        .await;
    assert_eq!(seen_by_admin.json()["status"], "suspended");
    let order = app
        .place_order(
            &buyer,
            json!([{"product_id": product, "quantity": 1}]),
            None,
        )
        .await;
    assert_ne!(order.status, 201, "{}", order.text);
    assert!(order.status.is_client_error(), "{}", order.text);
    // The statistics follow, as they do for a household suspended by hand.
    assert_eq!(households_total(&app, &admin).await, 0);

    let shown = app
        .get(&format!("/admin/users/{farmer_id}"), Some(&admin))
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json()["status"], "suspended");
    // Suspending again changes nothing.
    let again = set_status(&app, &admin, &farmer_id, "suspended").await;
    assert_eq!(again.status, 200);
    assert_eq!(households_total(&app, &admin).await, 0);
}

async fn reinstating_an_account_brings_back_only_the_households_suspended_with_it(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let (farmer_id, farmer) = account(&app, "mai@example.vn", "farmer").await;
    let kept = app.household(&farmer, "Hộ bà Mai", "24").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = app.product(&farmer, &kept, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stopped = app.household(&farmer, "Hộ bà Mai 2", "01").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An admin suspends one household on its own first.
    let patched = app
        .patch(
            &format!("/households/{stopped}"),
            Some(&admin),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(households_total(&app, &admin).await, 1);

    assert_eq!(
        set_status(&app, &admin, &farmer_id, "suspended")
            .await
            .status,
        200
    );
    assert_eq!(households_total(&app, &admin).await, 0);
    let reinstated = set_status(&app, &admin, &farmer_id, "active").await;
    assert_eq!(reinstated.status, 200, "{}", reinstated.text);
    assert_eq!(reinstated.json()["status"], "active");

    let login = app.login("mai@example.vn", PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.json()["user"]["status"], "active");
    assert_eq!(
        app.get(&format!("/products/{product}"), None).await.status,
        200
    );
    let household_status = |id: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let household = app
                .get(&format!("/households/{id}"), Some(&admin))
                .await
                .json();
            household["status"].clone()
        }
    };
    assert_eq!(household_status(kept.clone()).await, "active");
    assert_eq!(household_status(stopped.clone()).await, "suspended");
    assert_eq!(households_total(&app, &admin).await, 1);
    // The old tokens stay revoked.
    app.get("/me", Some(&farmer))
        .await
        .assert_problem(401, "unauthenticated");
}

async fn only_admins_see_and_change_accounts(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let admin_id = app.get("/me", Some(&admin)).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (buyer_id, buyer) = account(&app, "an@example.vn", "buyer").await;
    let path = format!("/admin/users/{buyer_id}");

    app.patch(&path, None, json!({"status": "suspended"}))
        .await
        .assert_problem(401, "unauthenticated");
    app.patch(&path, Some(&buyer), json!({"status": "suspended"}))
        .await
        .assert_problem(403, "forbidden");
    app.get(&path, Some(&buyer))
        .await
        .assert_problem(403, "forbidden");
    for bad in [
        json!({"status": "banned"}),
        json!({}),
        json!({"status": "suspended", "x": 1}),
    ] {
        let answer = app.patch(&path, Some(&admin), bad.clone()).await;
        answer.assert_problem(422, "validation_failed");
    }
    let own = set_status(&app, &admin, &admin_id, "suspended").await;
    own.assert_problem(422, "validation_failed");
    assert_eq!(own.problem_fields(), ["status"]);
    for missing in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        set_status(&app, &admin, &missing, "suspended")
            .await
            .assert_problem(404, "not_found");
    }
    // Nothing above changed the buyer.
    let me = app.get("/me", Some(&buyer)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["status"], "active");
    let shown = app.get(&path, Some(&admin)).await;
    assert_eq!(shown.json(), me.json());
}

async fn a_farmer_with_a_suspended_household_cannot_open_another(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let farmer = app.signed_in("farmer").await;
    let household = app.household(&farmer, "Hộ ông Tư", "24").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patched = app
        .patch(
            &format!("/households/{household}"),
            Some(&admin),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    app.post(
        "/households",
        Some(&farmer),
        json!({"name": "Hộ mới", "province_code": "24"}),
    )
    .await
    .assert_problem(403, "owner_suspended");
    // Other farmers are not affected, and reinstating the household lifts the bar.
    let other = app.signed_in("farmer").await;
    app.household(&other, "Hộ bà Năm", "24").await;
    app.patch(
        &format!("/households/{household}"),
        Some(&admin),
        json!({"status": "active"}),
    )
    .await;
    app.household(&farmer, "Hộ mới", "24").await;
}

async fn a_login_beyond_twenty_live_tokens_revokes_the_oldest(app: TestApp) {
    assert_eq!(app.register("nhieu@example.vn", "buyer").await.status, 201);
    let mut tokens = Vec::new();
    for _ in 0..21 {
        let login = app.login("nhieu@example.vn", PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.text);
        tokens.push(login.json()["token"].as_str().unwrap().to_owned());
    }
    app.get("/me", Some(&tokens[0]))
        .await
        .assert_problem(401, "unauthenticated");
    for token in &tokens[1..] {
        assert_eq!(app.get("/me", Some(token)).await.status, 200);
    }
}

async fn an_over_long_email_on_login_is_422_and_never_reaches_the_throttle(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.auth.login_failures_per_address = 2;
    })
    .await
    else {
        return;
    };
    assert_eq!(app.register("ngan@example.vn", "buyer").await.status, 201);
    let long = format!("{}@example.vn", "a".repeat(250));
    for _ in 0..3 {
        let answer = app.login(&long, "wrong-password").await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.problem_fields(), ["email"]);
    }
    // None of them counted as a failure of this address.
    app.login("ngan@example.vn", "wrong-password")
        .await
        .assert_problem(401, "invalid_credentials");
    assert_eq!(app.login("ngan@example.vn", PASSWORD).await.status, 200);
}

/// Number of rows in `auth_tokens`, read straight from the test database.
fn stored_tokens(backend: Backend, url: &str) -> i64 {
    use nongsan::db::schema::auth_tokens;
    match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(url).unwrap();
            auth_tokens::table.count().get_result(&mut conn).unwrap()
        }
        Backend::Postgres => {
            let mut conn = PgConnection::establish(url).unwrap();
            auth_tokens::table.count().get_result(&mut conn).unwrap()
        }
    }
}

/// Registers and logs in `email` with a given X-Forwarded-For (none: `None`).
async fn register_from(app: &TestApp, email: &str, forwarded_for: Option<&str>) -> Answer {
    let mut request = app.client.post(app.url("/auth/register")).json(
        &json!({"email": email, "password": PASSWORD, "full_name": "Khách", "role": "buyer"}),
    );
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    send(request).await
}

fn retry_after(answer: &Answer) -> u64 {
    answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

with_each_backend!(
    an_over_long_email_on_login_is_422_and_never_reaches_the_throttle,
    expired_tokens_are_purged_on_a_timer,
    registrations_are_throttled_per_client_address_behind_trusted_proxies_only,
    password_hashing_is_bounded_and_sheds_load_with_busy,
);

async fn expired_tokens_are_purged_on_a_timer(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.auth.token_ttl = Duration::from_secs(1);
        s.auth.maintenance_interval = Duration::from_millis(200);
    })
    .await
    else {
        return;
    };
    for email in ["mot@example.vn", "hai@example.vn"] {
        assert_eq!(app.register(email, "buyer").await.status, 201);
        assert_eq!(app.login(email, PASSWORD).await.status, 200);
    }
    assert!(stored_tokens(backend, &app.database.url) >= 1);
    // Nobody logs in again: only the timer can remove them.
    let url = app.database.url.clone();
    crate::helpers::eventually("the expired tokens are deleted", || {
        let url = url.clone();
        async move { stored_tokens(backend, &url) == 0 }
    })
    .await;
}

async fn registrations_are_throttled_per_client_address_behind_trusted_proxies_only(
    backend: Backend,
) {
    // Without trusted proxies, X-Forwarded-For is ignored: every request is from 127.0.0.1.
    let Some(direct) = spawn_app_with(backend, |s| s.auth.registrations_per_address = 3).await
    else {
        return;
    };
    for i in 0..3 {
        let forwarded = format!("203.0.113.{i}");
        let answer = register_from(&direct, &format!("d{i}@example.vn"), Some(&forwarded)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    let limited = register_from(&direct, "d9@example.vn", Some("198.51.100.9")).await;
    limited.assert_problem(429, "rate_limited");
    assert!(retry_after(&limited) >= 1);
    // Invalid requests are refused for what they are, and the limited one stored nothing.
    register_from(&direct, "not-an-email", None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(direct.login("d9@example.vn", PASSWORD).await.status, 401);

    // Behind a trusted proxy, the client is the rightmost untrusted hop.
    let proxied = spawn_app_with(backend, |s| {
        s.auth.registrations_per_address = 3;
        s.auth.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await
    .unwrap();
    for i in 0..3 {
        let answer =
            register_from(&proxied, &format!("p{i}@example.vn"), Some("203.0.113.7")).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    register_from(&proxied, "p3@example.vn", Some("203.0.113.7"))
        .await
        .assert_problem(429, "rate_limited");
    // A client cannot escape by writing another address to the left of the real one.
    register_from(&proxied, "p4@example.vn", Some("192.0.2.1, 203.0.113.7"))
        .await
        .assert_problem(429, "rate_limited");
    // Another client behind the same proxy has its own allowance.
    let other = register_from(&proxied, "p5@example.vn", Some("203.0.113.7, 203.0.113.8")).await;
    assert_eq!(other.status, 201, "{}", other.text);

    // An IPv6 client is counted by its /64: new addresses in it share one allowance, and the
    // next /64 has its own.
    for i in 1..=3 {
        let address = format!("2001:db8:7:1::{i}");
        let answer = register_from(&proxied, &format!("v{i}@example.vn"), Some(&address)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    register_from(&proxied, "v4@example.vn", Some("2001:db8:7:1:abcd::9"))
        .await
        .assert_problem(429, "rate_limited");
    let next = register_from(&proxied, "v5@example.vn", Some("2001:db8:7:2::1")).await;
    assert_eq!(next.status, 201, "{}", next.text);
}

async fn password_hashing_is_bounded_and_sheds_load_with_busy(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.auth.hash_threads = 1;
        s.auth.hash_queue_timeout = Duration::from_millis(20);
    })
    .await
    else {
        return;
    };
    let app = &app;
    let burst = (0..24)
        .map(|i| async move { register_from(app, &format!("burst{i}@example.vn"), None).await });
    let read = async {
        // Reads are not held up by the queue of hashes.
        let provinces = app.get("/provinces", None).await;
        assert_eq!(provinces.status, 200);
    };
    let (answers, ()) = tokio::join!(futures_util::future::join_all(burst), read);
    let mut busy = 0;
    for answer in &answers {
        match answer.status.as_u16() {
            201 => {}
            503 => {
                answer.assert_problem(503, "busy");
                assert!(retry_after(answer) >= 1);
                busy += 1;
            }
            other => panic!("expected 201 or 503 busy, got {other}: {}", answer.text),
        }
    }
    assert!(
        busy > 0,
        "one hashing thread cannot start 24 hashes within 20 ms"
    );
    // Once the burst is over, registrations and logins go through again.
    let mut registered = None;
    for _ in 0..5 {
        let answer = register_from(app, "after@example.vn", None).await;
        if answer.status == 201 {
            registered = Some(answer);
            break;
        }
        answer.assert_problem(503, "busy");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let registered: Value = registered.expect("a lone registration goes through").json();
    assert_eq!(registered["email"], "after@example.vn");
}
