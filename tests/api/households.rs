//! Provinces and farm households.

use serde_json::{Value, json};

use crate::helpers::{TestApp, ids};
use crate::on_both_backends;

on_both_backends!(
    provinces_are_the_63_with_their_official_codes,
    farmers_register_households_that_anyone_can_read_and_find,
    only_farmers_register_households,
    household_validation_names_each_field_and_stores_nothing,
    owners_and_admins_change_households_and_only_admins_suspend,
    lists_page_and_reject_bad_paging,
);

/// The 2008 map (the current one is tested in `admin_map`).
async fn provinces_are_the_63_with_their_official_codes(app: TestApp) {
    let answer = app.get("/provinces?map=2008", None).await;
    assert_eq!(answer.status, 200);
    let provinces = answer.json();
    let provinces = provinces.as_array().unwrap();
    assert_eq!(provinces.len(), 63);
    let name_of = |code: &str| {
        provinces
            .iter()
            .find(|p| p["code"] == code)
            .map(|p| p["name"].as_str().unwrap().to_owned())
    };
    assert_eq!(name_of("24").as_deref(), Some("Bắc Giang"));
    assert_eq!(name_of("01").as_deref(), Some("Hà Nội"));
    assert_eq!(name_of("79").as_deref(), Some("Hồ Chí Minh"));
    assert_eq!(name_of("96").as_deref(), Some("Cà Mau"));
    let mut codes: Vec<&str> = provinces
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit()))
    );
    codes.dedup();
    assert_eq!(codes.len(), 63, "sorted and unique");
}

async fn farmers_register_households_that_anyone_can_read_and_find(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let me = app.get("/me", Some(&farmer)).await.json();
    let answer = app
        .post(
            "/households",
            Some(&farmer),
            json!({"name": "  Hộ ông Nguyễn Văn Hùng ", "province_code": "24", "district": "Lục Ngạn",
                   "address": "Thôn Kép, xã Hồng Giang", "phone": "0204 3882 123",
                   "description": "Trồng vải thiều theo chuẩn VietGAP"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let household = answer.json();
    assert_eq!(household["name"], "Hộ ông Nguyễn Văn Hùng");
    assert_eq!(household["owner_id"], me["id"]);
    assert_eq!(household["status"], "active");
    assert_eq!(household["province_code"], "24");
    assert_eq!(household["district"], "Lục Ngạn");
    let joined =
        chrono::DateTime::parse_from_rfc3339(household["joined_at"].as_str().unwrap()).unwrap();
    assert!(
        (chrono::Utc::now() - joined.with_timezone(&chrono::Utc))
            .num_seconds()
            .abs()
            < 60
    );
    let mut keys: Vec<&str> = household
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "address",
            "commune_code",
            "created_at",
            "current_province_code",
            "description",
            "district",
            "free_shipping_from_vnd",
            "id",
            "joined_at",
            "name",
            "owner_id",
            "phone",
            "province_code",
            "status"
        ]
    );

    let other = app
        .household(&farmer, "Hợp tác xã chè Tân Cương", "19")
        .await;
    let id = household["id"].as_str().unwrap();
    let public = app.get(&format!("/households/{id}"), None).await;
    assert_eq!(public.status, 200);
    assert_eq!(public.json(), household);

    assert_eq!(app.listed_ids("/households", None).await.len(), 2);
    assert_eq!(
        app.listed_ids("/households?province_code=24", None).await,
        [id]
    );
    assert_eq!(
        app.listed_ids("/households?q=nguyen%20van%20HUNG", None)
            .await,
        [id]
    );
    assert_eq!(
        app.listed_ids("/households?q=vietgap", None).await,
        [id],
        "description is searched"
    );
    assert_eq!(
        app.listed_ids("/households?q=tan%20cuong", None).await,
        [other["id"].as_str().unwrap()]
    );
    assert!(
        app.listed_ids("/households?q=hung%20cuong", None)
            .await
            .is_empty()
    );
    app.get("/households?province_code=x1", None)
        .await
        .assert_problem(422, "validation_failed");
}

async fn only_farmers_register_households(app: TestApp) {
    let body = json!({"name": "Hộ bà Lê Thị Mai", "province_code": "01"});
    app.post("/households", None, body.clone())
        .await
        .assert_problem(401, "unauthenticated");
    let buyer = app.signed_in("buyer").await;
    app.post("/households", Some(&buyer), body.clone())
        .await
        .assert_problem(403, "forbidden");
    let admin = app.signed_in_admin().await;
    app.post("/households", Some(&admin), body)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.get("/households", Some(&admin)).await.json()["total"],
        0
    );
}

async fn household_validation_names_each_field_and_stores_nothing(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let answer = app
        .post(
            "/households",
            Some(&farmer),
            json!({"name": " ", "province_code": "99", "phone": "abc", "description": "x".repeat(5001),
                   "district": "d".repeat(201)}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let mut fields = answer.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["description", "district", "name", "phone", "province_code"]
    );
    for (body, field) in [
        (
            json!({"name": "Hộ A", "province_code": "Bắc Giang"}),
            "province_code",
        ),
        // A place is required: the commune, or a province.
        (json!({"name": "Hộ A"}), "commune_code"),
        (
            json!({"name": "Hộ A", "province_code": 24}),
            "province_code",
        ),
        (
            json!({"name": "Hộ A", "province_code": "24", "status": "active"}),
            "status",
        ),
    ] {
        let answer = app.post("/households", Some(&farmer), body).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.problem_fields(), [field]);
    }
    assert_eq!(app.get("/households", None).await.json()["total"], 0);
}

async fn owners_and_admins_change_households_and_only_admins_suspend(app: TestApp) {
    let owner = app.signed_in("farmer").await;
    let stranger = app.signed_in("farmer").await;
    let buyer = app.signed_in("buyer").await;
    let admin = app.signed_in_admin().await;
    let household = app.household(&owner, "Hộ ông Trần Văn Bình", "24").await;
    let path = format!("/households/{}", household["id"].as_str().unwrap());

    let rename = json!({"name": "Hộ ông Trần Văn Bình (Lục Ngạn)"});
    app.patch(&path, None, rename.clone())
        .await
        .assert_problem(401, "unauthenticated");
    app.patch(&path, Some(&stranger), rename.clone())
        .await
        .assert_problem(403, "forbidden");
    app.patch(&path, Some(&buyer), rename.clone())
        .await
        .assert_problem(403, "forbidden");
    let renamed = app
        .patch(
            &path,
            Some(&owner),
            json!({"name": "Hộ ông Trần Văn Bình (Lục Ngạn)", "description": "Vải sớm"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json()["name"], "Hộ ông Trần Văn Bình (Lục Ngạn)");
    assert_eq!(
        app.listed_ids("/households?q=luc%20ngan", None).await.len(),
        1
    );
    let cleared = app
        .patch(&path, Some(&owner), json!({"description": null}))
        .await;
    assert_eq!(cleared.json()["description"], Value::Null);
    assert_eq!(
        cleared.json()["name"],
        "Hộ ông Trần Văn Bình (Lục Ngạn)",
        "absent fields stay"
    );
    app.patch(&path, Some(&owner), json!({"province_code": "00"}))
        .await
        .assert_problem(422, "validation_failed");

    app.patch(&path, Some(&owner), json!({"status": "suspended"}))
        .await
        .assert_problem(403, "forbidden");
    app.patch(&path, Some(&admin), json!({"status": "closed"}))
        .await
        .assert_problem(422, "validation_failed");
    let suspended = app
        .patch(&path, Some(&admin), json!({"status": "suspended"}))
        .await;
    assert_eq!(suspended.status, 200);
    assert_eq!(suspended.json()["status"], "suspended");

    app.get(&path, None).await.assert_problem(404, "not_found");
    app.get(&path, Some(&stranger))
        .await
        .assert_problem(404, "not_found");
    app.patch(&path, Some(&stranger), rename)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.get(&path, Some(&owner)).await.status, 200);
    assert_eq!(app.get(&path, Some(&admin)).await.status, 200);
    assert!(app.listed_ids("/households", None).await.is_empty());
    assert_eq!(app.listed_ids("/households", Some(&admin)).await.len(), 1);
    assert_eq!(
        app.listed_ids("/households?status=suspended", Some(&admin))
            .await
            .len(),
        1
    );
    assert!(
        app.listed_ids("/households?status=active", Some(&admin))
            .await
            .is_empty()
    );
    app.get("/households?status=suspended", Some(&owner))
        .await
        .assert_problem(403, "forbidden");

    let restored = app
        .patch(&path, Some(&admin), json!({"status": "active"}))
        .await;
    assert_eq!(restored.json()["status"], "active");
    assert_eq!(app.get(&path, None).await.status, 200);

    app.get("/households/not-a-uuid", None)
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/households/{}", uuid::Uuid::now_v7()), None)
        .await
        .assert_problem(404, "not_found");
}

async fn lists_page_and_reject_bad_paging(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.household(&farmer, &format!("Hộ số {i}"), "24").await["id"].clone());
    }
    let first = app.get("/households?per_page=2", None).await.json();
    assert_eq!(first["total"], 5);
    assert_eq!(first["page"], 1);
    assert_eq!(first["per_page"], 2);
    let newest_first: Vec<String> = created
        .iter()
        .rev()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids(&first["items"]), newest_first[..2]);
    let third = app.get("/households?per_page=2&page=3", None).await.json();
    assert_eq!(ids(&third["items"]), newest_first[4..]);
    let beyond = app.get("/households?per_page=2&page=9", None).await.json();
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 5);

    for query in ["per_page=0", "per_page=101", "page=0", "page=-1"] {
        app.get(&format!("/households?{query}"), None)
            .await
            .assert_problem(422, "validation_failed");
    }
    for query in ["page=abc", "per_page=1.5", "page=99999999999999999999"] {
        app.get(&format!("/households?{query}"), None)
            .await
            .assert_problem(400, "malformed_request");
    }
}
