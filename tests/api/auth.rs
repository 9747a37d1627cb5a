//! Accounts: register, login, logout, /me, throttling, the admin command.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    Backend, PASSWORD, RunningServer, ServerProcess, TestApp, create_admin_with_cli,
    spawn_app_with, test_settings,
};
use crate::on_both_backends;

on_both_backends!(
    registering_returns_the_user_and_no_secret,
    emails_are_unique_whatever_their_case,
    registration_names_every_invalid_field,
    a_login_token_opens_me_until_it_expires,
    a_wrong_password_and_an_unknown_email_answer_alike,
    requests_without_a_valid_token_are_401,
    logout_revokes_only_that_token_at_once,
    tokens_survive_a_restart_and_work_on_a_second_server,
    tokens_work_across_server_processes,
    admins_are_made_only_with_the_command_line,
);

async fn registering_returns_the_user_and_no_secret(app: TestApp) {
    let answer = app
        .post(
            "/auth/register",
            None,
            json!({"email": "  Lan.Nguyen@Example.vn ", "password": PASSWORD, "full_name": "  Nguyễn Thị Lan ",
                   "role": "farmer", "phone": "0912 345 678"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let user = answer.json();
    assert_eq!(user["email"], "Lan.Nguyen@Example.vn");
    assert_eq!(user["full_name"], "Nguyễn Thị Lan");
    assert_eq!(user["role"], "farmer");
    assert_eq!(user["phone"], "0912 345 678");
    assert_eq!(user["status"], "active");
    let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);
    let created_at = user["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z'), "{created_at}");
    chrono::DateTime::parse_from_rfc3339(created_at).unwrap();
    let keys: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 7, "exactly the documented fields: {keys:?}");
    assert!(!answer.text.contains("argon2") && !answer.text.contains(PASSWORD));

    let buyer = app.register("buyer@example.vn", "buyer").await;
    assert_eq!(buyer.status, 201);
    assert_eq!(buyer.json()["phone"], serde_json::Value::Null);
}

async fn emails_are_unique_whatever_their_case(app: TestApp) {
    assert_eq!(app.register("Hoa@Example.vn", "buyer").await.status, 201);
    let again = app.register("hoa@EXAMPLE.VN", "farmer").await;
    let body = again.assert_problem(409, "email_taken");
    assert_eq!(body["errors"][0]["field"], "email");
    // The first account still logs in, with any case of its email.
    assert_eq!(app.login("HOA@example.vn", PASSWORD).await.status, 200);
}

async fn registration_names_every_invalid_field(app: TestApp) {
    let answer = app
        .post(
            "/auth/register",
            None,
            json!({"email": "not-an-email", "password": "short", "full_name": "   ", "role": "admin", "phone": "12"}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let mut fields = answer.problem_fields();
    fields.sort();
    assert_eq!(fields, ["email", "full_name", "password", "phone", "role"]);

    let cases = [
        (json!({"role": "landlord"}), "role"),
        (json!({"password": "x".repeat(129)}), "password"),
        (json!({"full_name": "a".repeat(201)}), "full_name"),
        (
            json!({"email": format!("{}@example.vn", "a".repeat(250))}),
            "email",
        ),
        (json!({"email": 42}), "email"),
        (json!({"nickname": "Lan"}), "nickname"),
    ];
    for (change, field) in cases {
        let mut body = json!({"email": "ok@example.vn", "password": PASSWORD, "full_name": "Lan", "role": "buyer"});
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let answer = app.post("/auth/register", None, body).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.problem_fields(), [field], "{}", answer.text);
    }
    let missing = app
        .post(
            "/auth/register",
            None,
            json!({"email": "ok@example.vn", "password": PASSWORD, "role": "buyer"}),
        )
        .await;
    missing.assert_problem(422, "validation_failed");
    assert_eq!(missing.problem_fields(), ["full_name"]);

    // The bounds themselves are allowed: 8 and 128 characters, counted as characters.
    for (i, password) in ["ắắắắắắắắ".to_owned(), "p".repeat(128)]
        .into_iter()
        .enumerate()
    {
        let answer = app
            .post(
                "/auth/register",
                None,
                json!({"email": format!("edge{i}@example.vn"), "password": password, "full_name": "Biên", "role": "buyer"}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    // Nothing was stored by the rejected requests.
    assert_eq!(app.login("ok@example.vn", PASSWORD).await.status, 401);
}

async fn a_login_token_opens_me_until_it_expires(app: TestApp) {
    assert_eq!(app.register("minh@example.vn", "buyer").await.status, 201);
    let answer = app.login("  MINH@example.vn ", PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let session = answer.json();
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["user"]["email"], "minh@example.vn");
    let token = session["token"].as_str().unwrap();
    assert!(token.len() >= 64, "at least 256 bits: {token}");
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap();
    let days =
        (expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!(
        (29.9..=30.0).contains(&days),
        "30 days by default, got {days}"
    );

    let me = app.get("/me", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json(), session["user"]);

    // A short token lifetime: the token stops working once it has passed.
    let short = spawn_app_with(app.database.backend, |s| {
        s.auth.token_ttl = Duration::from_secs(1)
    })
    .await
    .unwrap();
    assert_eq!(short.register("ngan@example.vn", "buyer").await.status, 201);
    let token = short.login("ngan@example.vn", PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(short.get("/me", Some(&token)).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    short
        .get("/me", Some(&token))
        .await
        .assert_problem(401, "unauthenticated");
}

async fn a_wrong_password_and_an_unknown_email_answer_alike(app: TestApp) {
    assert_eq!(app.register("tam@example.vn", "farmer").await.status, 201);
    let wrong_password = app.login("tam@example.vn", "not-the-password").await;
    let unknown_email = app.login("nobody@example.vn", PASSWORD).await;
    wrong_password.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong_password.status, unknown_email.status);
    assert_eq!(wrong_password.text, unknown_email.text);
}

async fn requests_without_a_valid_token_are_401(app: TestApp) {
    app.get("/me", None)
        .await
        .assert_problem(401, "unauthenticated");
    let forged = format!("nst_{}", "0".repeat(64));
    for header in [
        "Bearer",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        &format!("Bearer {forged}"),
    ] {
        let response = app
            .client
            .get(app.url("/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

async fn logout_revokes_only_that_token_at_once(app: TestApp) {
    assert_eq!(app.register("thu@example.vn", "buyer").await.status, 201);
    let first = app.login("thu@example.vn", PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app.login("thu@example.vn", PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // An empty body with no content type is accepted.
    let logout = app.post_empty("/auth/logout", Some(&first)).await;
    assert_eq!(logout.status, 204, "{}", logout.text);
    assert!(logout.text.is_empty());
    app.get("/me", Some(&first))
        .await
        .assert_problem(401, "unauthenticated");
    app.post_empty("/auth/logout", Some(&first))
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(app.get("/me", Some(&second)).await.status, 200);
    // A JSON body is fine too.
    assert_eq!(
        app.post("/auth/logout", Some(&second), json!({}))
            .await
            .status,
        204
    );
    app.get("/me", Some(&second))
        .await
        .assert_problem(401, "unauthenticated");
}

async fn tokens_survive_a_restart_and_work_on_a_second_server(app: TestApp) {
    let token = app.signed_in("buyer").await;
    let sibling = RunningServer::start(test_settings(&app.database.url)).await;
    let on_sibling = app
        .client
        .get(format!("{}/api/v1/me", sibling.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(on_sibling.status(), 200);

    app.server.stop().await;
    sibling.stop().await;
    let restarted = RunningServer::start(test_settings(&app.database.url)).await;
    let after_restart = app
        .client
        .get(format!("{}/api/v1/me", restarted.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after_restart.status(), 200);
    restarted.stop().await;
}

async fn tokens_work_across_server_processes(app: TestApp) {
    app.server.stop().await;
    let mut first = ServerProcess::start(&app.database.url);
    let second = ServerProcess::start(&app.database.url);
    let client = &app.client;
    let register = client
        .post(format!("{}/api/v1/auth/register", first.address))
        .json(&json!({"email": "hai@example.vn", "password": PASSWORD, "full_name": "Hai", "role": "farmer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 201);
    let login: serde_json::Value = client
        .post(format!("{}/api/v1/auth/login", first.address))
        .json(&json!({"email": "hai@example.vn", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let me = client
        .get(format!("{}/api/v1/me", second.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // Logout on the second process ends the token on the first one as well.
    let logout = client
        .post(format!("{}/api/v1/auth/logout", second.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let me = client
        .get(format!("{}/api/v1/me", first.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);

    // SIGTERM stops a server cleanly.
    assert!(first.terminate().success());
}

async fn admins_are_made_only_with_the_command_line(app: TestApp) {
    let by_api = app
        .post(
            "/auth/register",
            None,
            json!({"email": "boss@example.vn", "password": PASSWORD, "full_name": "Boss", "role": "admin"}),
        )
        .await;
    by_api.assert_problem(422, "validation_failed");
    assert_eq!(by_api.problem_fields(), ["role"]);

    let output = create_admin_with_cli(&app.database.url, "Boss@Example.vn", PASSWORD)
        .expect("admin created");
    assert!(output.contains("created admin"), "{output}");
    let login = app.login("boss@example.vn", PASSWORD).await;
    assert_eq!(login.status, 200);
    assert_eq!(login.json()["user"]["role"], "admin");

    let duplicate =
        create_admin_with_cli(&app.database.url, "boss@example.vn", PASSWORD).unwrap_err();
    assert!(duplicate.contains("already"), "{duplicate}");
    let weak = create_admin_with_cli(&app.database.url, "weak@example.vn", "short").unwrap_err();
    assert!(weak.contains("password"), "{weak}");
}

mod throttling {
    use super::*;

    async fn failed_logins_are_slowed_per_email_and_per_address(backend: Backend) {
        let Some(app) = spawn_app_with(backend, |s| {
            s.auth.login_failures_per_email = 3;
            s.auth.login_failures_per_address = 6;
        })
        .await
        else {
            return;
        };
        assert_eq!(app.register("victim@example.vn", "buyer").await.status, 201);
        assert_eq!(
            app.register("bystander@example.vn", "buyer").await.status,
            201
        );
        for _ in 0..3 {
            app.login("victim@example.vn", "wrong-password")
                .await
                .assert_problem(401, "invalid_credentials");
        }
        let limited = app.login("victim@example.vn", "wrong-password").await;
        limited.assert_problem(429, "rate_limited");
        let retry_after: u64 = limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        // Even the right password waits now: that is what stops guessing.
        app.login("victim@example.vn", PASSWORD)
            .await
            .assert_problem(429, "rate_limited");
        // Another email from the same address is not hurt by the victim's failures.
        assert_eq!(
            app.login("bystander@example.vn", PASSWORD).await.status,
            200
        );

        // Failures spread over many emails add up per address.
        for i in 0..2 {
            app.login(&format!("guess{i}@example.vn"), "wrong-password")
                .await
                .assert_problem(401, "invalid_credentials");
        }
        app.login("guess9@example.vn", "wrong-password")
            .await
            .assert_problem(429, "rate_limited");
        app.login("bystander@example.vn", PASSWORD)
            .await
            .assert_problem(429, "rate_limited");
    }

    /// Guesses sent all at once are checked one at a time per email, as if sent one by one: the
    /// others are told to come back in a second (429, `Retry-After: 1`) and never queue for the
    /// password hasher. Before, all were checked together, and each counted only afterwards.
    async fn guesses_sent_together_are_checked_one_at_a_time_per_email(backend: Backend) {
        let Some(app) = spawn_app_with(backend, |s| {
            s.auth.login_failures_per_email = 100;
            s.auth.login_failures_per_address = 100;
            s.auth.hash_threads = 1;
            s.auth.hash_queue_timeout = Duration::from_millis(50);
        })
        .await
        else {
            return;
        };
        assert_eq!(app.register("victim@example.vn", "buyer").await.status, 201);
        let app = &app;
        let guesses = (0..24)
            .map(|i| async move { app.login("victim@example.vn", &format!("guess-{i}")).await });
        let answers = futures_util::future::join_all(guesses).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
        let checked = statuses.iter().filter(|&&s| s == 401).count();
        assert!(checked >= 1, "{statuses:?}");
        for answer in answers.iter().filter(|a| a.status != 401) {
            answer.assert_problem(429, "rate_limited");
            assert_eq!(answer.headers["retry-after"], "1");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn guesses_together_sqlite() {
        guesses_sent_together_are_checked_one_at_a_time_per_email(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn guesses_together_postgres() {
        guesses_sent_together_are_checked_one_at_a_time_per_email(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        failed_logins_are_slowed_per_email_and_per_address(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        failed_logins_are_slowed_per_email_and_per_address(Backend::Postgres).await;
    }
}
