//! Every failure is problem+json with a stable code, including actix's own.

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    unknown_routes_and_methods_are_problems,
    malformed_bodies_are_400_and_wrong_shapes_422,
    wrong_content_types_are_415,
    bodies_over_one_mebibyte_are_413,
);

async fn unknown_routes_and_methods_are_problems(app: TestApp) {
    app.get("/no/such/thing", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/nowhere-at-all", None)
        .await
        .assert_problem(404, "not_found");
    let wrong_method = app.get("/auth/login", None).await;
    wrong_method.assert_problem(405, "method_not_allowed");
    assert_eq!(wrong_method.headers["allow"], "POST");
}

async fn malformed_bodies_are_400_and_wrong_shapes_422(app: TestApp) {
    for body in [
        &b"{"[..],
        b"not json",
        br#"{"email": "a@b.vn"} trailing"#,
        b"\xff\xfe",
    ] {
        app.post_raw("/auth/login", Some("application/json"), body.to_vec())
            .await
            .assert_problem(400, "malformed_request");
    }
    let wrong_type = app
        .post_raw(
            "/auth/login",
            Some("application/json"),
            br#"{"email": 1, "password": "x"}"#.to_vec(),
        )
        .await;
    wrong_type.assert_problem(422, "validation_failed");
    assert_eq!(wrong_type.problem_fields(), ["email"]);
    let not_an_object = app
        .post_raw(
            "/auth/login",
            Some("application/json; charset=utf-8"),
            b"[1, 2]".to_vec(),
        )
        .await;
    not_an_object.assert_problem(422, "validation_failed");
    assert_eq!(not_an_object.problem_fields(), ["body"]);
}

async fn wrong_content_types_are_415(app: TestApp) {
    let body = br#"{"email": "a@b.vn", "password": "password1"}"#.to_vec();
    app.post_raw("/auth/login", Some("text/plain"), body.clone())
        .await
        .assert_problem(415, "unsupported_media_type");
    app.post_raw("/auth/login", None, body)
        .await
        .assert_problem(415, "unsupported_media_type");
}

async fn bodies_over_one_mebibyte_are_413(app: TestApp) {
    let mut body = br#"{"email": "a@b.vn", "password": ""#.to_vec();
    body.extend(std::iter::repeat_n(b'x', 1024 * 1024));
    body.extend(br#""}"#);
    app.post_raw("/auth/login", Some("application/json"), body)
        .await
        .assert_problem(413, "payload_too_large");
    // Just under the limit is read (and then judged on its content).
    let mut body = br#"{"email": "a@b.vn", "password": ""#.to_vec();
    body.extend(std::iter::repeat_n(b'x', 1000 * 1000));
    body.extend(br#""}"#);
    app.post_raw("/auth/login", Some("application/json"), body)
        .await
        .assert_problem(401, "invalid_credentials");
}
