//! The administrative map: the 34 current provinces and their communes beside the 63 former
//! ("2008") provinces, and places given on either map for households, products, orders,
//! reports and imports. Codes are real ones from `data/admin-map/*.csv`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, ndjson_lines, product_body};
use crate::on_both_backends;

on_both_backends!(
    the_current_map_lists_34_provinces_with_the_former_ones_they_absorbed,
    the_2008_map_lists_63_provinces_each_with_the_current_one_it_became,
    communes_are_listed_by_current_province_and_found_without_diacritics,
    a_household_registered_with_a_commune_gets_both_provinces,
    a_province_given_alone_is_of_the_2008_map_unless_told_current,
    unknown_or_contradictory_household_places_are_rejected_and_store_nothing,
    households_are_filtered_by_a_current_or_a_2008_province,
    product_origins_keep_their_map_and_their_current_province,
    products_are_found_by_origin_on_either_map_and_by_its_province_names,
    a_shipping_commune_sets_the_current_province_and_a_bad_one_takes_no_stock,
    province_breakdowns_on_both_maps_add_up_to_the_same_totals,
    the_products_report_filters_origins_on_either_map,
    imports_place_households_by_commune_or_by_a_province_with_its_map,
    a_household_moved_to_another_place_takes_the_new_place_whole,
);

/// Xã Lục Ngạn: current 24 Bắc Ninh, descends from former 24 Bắc Giang.
const LUC_NGAN: &str = "07582";
/// Phường Vũ Ninh: current 24 Bắc Ninh, descends from former 27 Bắc Ninh.
const VU_NINH: &str = "09169";
/// Phường Hà Giang 2: current 08 Tuyên Quang, descends from former 02 Hà Giang.
const HA_GIANG_2: &str = "00691";

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["code"].as_str().expect("a code").to_owned())
        .collect()
}

fn set<T: AsRef<str>>(items: &[T]) -> BTreeSet<String> {
    items.iter().map(|s| s.as_ref().to_owned()).collect()
}

fn keys(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

async fn json_ok(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let answer = app.get(path, token).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json()
}

/// POST /households as `token`; asserts 201 and returns the household.
async fn create_household(app: &TestApp, token: &str, body: Value) -> Value {
    let answer = app.post("/households", Some(token), body.clone()).await;
    assert_eq!(answer.status, 201, "{body}: {}", answer.text);
    answer.json()
}

/// The ids a listing shows, as a set (listings are newest first; these tests care about membership).
async fn listed(app: &TestApp, path: &str, token: Option<&str>) -> BTreeSet<String> {
    set(&app.listed_ids(path, token).await)
}

async fn the_current_map_lists_34_provinces_with_the_former_ones_they_absorbed(app: TestApp) {
    let provinces = json_ok(&app, "/provinces", None).await;
    assert_eq!(
        json_ok(&app, "/provinces?map=current", None).await,
        provinces,
        "the current map is the default"
    );
    let list = provinces.as_array().unwrap();
    assert_eq!(list.len(), 34);
    let codes = codes(&provinces);
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted, "sorted by code and unique");
    assert_eq!(codes.first().map(String::as_str), Some("01"));
    assert_eq!(codes.last().map(String::as_str), Some("96"));
    for province in list {
        assert_eq!(
            keys(province),
            set(&["code", "name", "kind", "formed_by", "former"]),
            "{province}"
        );
        let kind = province["kind"].as_str().unwrap();
        assert!(kind == "tinh" || kind == "thanh-pho", "{province}");
    }
    let find = |code: &str| list.iter().find(|p| p["code"] == code).unwrap().clone();

    let bac_ninh = find("24");
    assert_eq!(bac_ninh["name"], "Bắc Ninh");
    assert!(
        !bac_ninh["formed_by"].as_str().unwrap().is_empty(),
        "{bac_ninh}"
    );
    let former: BTreeSet<(String, String)> = bac_ninh["former"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        former,
        BTreeSet::from([
            ("24".to_owned(), "Bắc Giang".to_owned()),
            ("27".to_owned(), "Bắc Ninh".to_owned())
        ])
    );
    let ha_noi = find("01");
    assert_eq!(ha_noi["name"], "Hà Nội");
    assert_eq!(ha_noi["kind"], "thanh-pho");
    assert_eq!(codes_of_former(&ha_noi), set(&["01"]));
    let tuyen_quang = find("08");
    assert_eq!(tuyen_quang["name"], "Tuyên Quang");
    assert_eq!(tuyen_quang["kind"], "tinh");
    assert_eq!(codes_of_former(&tuyen_quang), set(&["02", "08"]));

    // Each of the 63 former provinces was absorbed by exactly one current province.
    let all_former: Vec<String> = list.iter().flat_map(codes_of_former).collect();
    assert_eq!(all_former.len(), 63);
    assert_eq!(set(&all_former).len(), 63);
}

fn codes_of_former(province: &Value) -> BTreeSet<String> {
    set(&codes(&province["former"]))
}

async fn the_2008_map_lists_63_provinces_each_with_the_current_one_it_became(app: TestApp) {
    let current = set(&codes(&json_ok(&app, "/provinces", None).await));
    let former = json_ok(&app, "/provinces?map=2008", None).await;
    let list = former.as_array().unwrap();
    assert_eq!(list.len(), 63);
    let codes = codes(&former);
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted, "sorted by code and unique");
    for province in list {
        assert_eq!(
            keys(province),
            set(&["code", "name", "current_code"]),
            "{province}"
        );
        assert!(
            current.contains(province["current_code"].as_str().unwrap()),
            "{province} becomes a current province"
        );
    }
    let find = |code: &str| list.iter().find(|p| p["code"] == code).unwrap().clone();
    assert_eq!(
        find("24"),
        json!({"code": "24", "name": "Bắc Giang", "current_code": "24"})
    );
    assert_eq!(
        find("27"),
        json!({"code": "27", "name": "Bắc Ninh", "current_code": "24"})
    );
    assert_eq!(
        find("02"),
        json!({"code": "02", "name": "Hà Giang", "current_code": "08"})
    );
    assert_eq!(find("01")["current_code"], "01");

    for map in ["xyz", "2025", "CURRENT"] {
        let answer = app.get(&format!("/provinces?map={map}"), None).await;
        answer.assert_problem(422, "validation_failed");
        assert!(
            answer.problem_fields().contains(&"map".to_owned()),
            "{map}: {}",
            answer.text
        );
    }
}

async fn communes_are_listed_by_current_province_and_found_without_diacritics(app: TestApp) {
    let bac_ninh = json_ok(&app, "/provinces/24/communes", None).await;
    let list = bac_ninh.as_array().unwrap();
    assert_eq!(
        list.len(),
        99,
        "58 from former Bắc Giang, 41 from former Bắc Ninh"
    );
    let listed = codes(&bac_ninh);
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(listed, sorted, "sorted by code and unique");
    for commune in list {
        assert_eq!(
            keys(commune),
            set(&[
                "code",
                "name",
                "kind",
                "province_code",
                "former_province_code",
                "former_units"
            ]),
            "{commune}"
        );
        assert_eq!(commune["province_code"], "24", "{commune}");
        let former = commune["former_province_code"].as_str().unwrap();
        assert!(former == "24" || former == "27", "{commune}");
        let kind = commune["kind"].as_str().unwrap();
        assert!(["xa", "phuong", "dac-khu"].contains(&kind), "{commune}");
    }
    let from = |former: &str| {
        list.iter()
            .filter(|c| c["former_province_code"] == former)
            .count()
    };
    assert_eq!((from("24"), from("27")), (58, 41));
    let luc_ngan = list.iter().find(|c| c["code"] == LUC_NGAN).unwrap();
    assert_eq!(luc_ngan["name"], "Xã Lục Ngạn");
    assert_eq!(luc_ngan["kind"], "xa");
    assert_eq!(luc_ngan["former_province_code"], "24");
    let vu_ninh = list.iter().find(|c| c["code"] == VU_NINH).unwrap();
    assert_eq!(vu_ninh["name"], "Phường Vũ Ninh");
    assert_eq!(vu_ninh["former_province_code"], "27");

    for q in ["luc%20ngan", "L%E1%BB%A4C%20NG%E1%BA%A0N", "ngan"] {
        let found = json_ok(&app, &format!("/provinces/24/communes?q={q}"), None).await;
        assert_eq!(codes(&found), [LUC_NGAN], "q={q}");
    }
    let nothing = json_ok(&app, "/provinces/01/communes?q=luc%20ngan", None).await;
    assert_eq!(nothing, json!([]), "only the province's own communes");

    let tuyen_quang = json_ok(&app, "/provinces/08/communes", None).await;
    let ha_giang = tuyen_quang
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == HA_GIANG_2)
        .unwrap();
    assert_eq!(ha_giang["name"], "Phường Hà Giang 2");
    assert_eq!(ha_giang["province_code"], "08");
    assert_eq!(ha_giang["former_province_code"], "02");

    for code in ["99", "abc", "27", "00"] {
        app.get(&format!("/provinces/{code}/communes"), None)
            .await
            .assert_problem(404, "not_found");
    }

    // Every commune belongs to exactly one of the 34 provinces.
    let mut all = BTreeSet::new();
    let mut count = 0;
    for province in codes(&json_ok(&app, "/provinces", None).await) {
        let communes = json_ok(&app, &format!("/provinces/{province}/communes"), None).await;
        for commune in communes.as_array().unwrap() {
            assert_eq!(commune["province_code"], province.as_str(), "{commune}");
            let code = commune["code"].as_str().unwrap();
            assert!(
                code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()),
                "{commune}"
            );
            all.insert(code.to_owned());
            count += 1;
        }
    }
    assert_eq!(count, 3321);
    assert_eq!(all.len(), 3321);
}

async fn a_household_registered_with_a_commune_gets_both_provinces(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let bac_giang = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ ông Nguyễn Văn Hùng", "commune_code": LUC_NGAN, "address": "Thôn Kép"}),
    )
    .await;
    assert_eq!(bac_giang["province_code"], "24");
    assert_eq!(bac_giang["current_province_code"], "24");
    assert_eq!(bac_giang["commune_code"], LUC_NGAN);
    assert_eq!(
        keys(&bac_giang),
        set(&[
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
        ])
    );
    let read = json_ok(&app, &format!("/households/{}", id(&bac_giang)), None).await;
    assert_eq!(read, bac_giang, "the same household reads back");

    let bac_ninh = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ bà Lê Thị Mai", "commune_code": VU_NINH}),
    )
    .await;
    assert_eq!(
        bac_ninh["province_code"], "27",
        "the 2008 province it descends from"
    );
    assert_eq!(bac_ninh["current_province_code"], "24");
    assert_eq!(bac_ninh["commune_code"], VU_NINH);

    let ha_giang = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ ông Giàng A Páo", "commune_code": HA_GIANG_2}),
    )
    .await;
    assert_eq!(ha_giang["province_code"], "02");
    assert_eq!(ha_giang["current_province_code"], "08");
    assert_eq!(ha_giang["commune_code"], HA_GIANG_2);

    // A province given beside the commune is accepted when it is the commune's, in its map.
    let agreeing = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ ông Trần Văn Bình", "commune_code": LUC_NGAN, "province_code": "24"}),
    )
    .await;
    assert_eq!(
        (
            &agreeing["province_code"],
            &agreeing["current_province_code"],
            &agreeing["commune_code"]
        ),
        (&json!("24"), &json!("24"), &json!(LUC_NGAN))
    );
    let agreeing_current = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ bà Ngô Thị Lan", "commune_code": VU_NINH, "province_code": "24",
               "province_map": "current"}),
    )
    .await;
    assert_eq!(agreeing_current["province_code"], "27");
    assert_eq!(agreeing_current["current_province_code"], "24");
    assert_eq!(agreeing_current["commune_code"], VU_NINH);
}

async fn a_province_given_alone_is_of_the_2008_map_unless_told_current(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let bac_giang = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Bắc Giang", "province_code": "24"}),
    )
    .await;
    assert_eq!(bac_giang["province_code"], "24");
    assert_eq!(bac_giang["current_province_code"], "24");
    assert_eq!(bac_giang["commune_code"], Value::Null);

    let former_bac_ninh = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Từ Sơn", "province_code": "27"}),
    )
    .await;
    assert_eq!(former_bac_ninh["province_code"], "27");
    assert_eq!(former_bac_ninh["current_province_code"], "24");

    let ha_giang = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Hà Giang", "province_code": "02"}),
    )
    .await;
    assert_eq!(ha_giang["province_code"], "02");
    assert_eq!(ha_giang["current_province_code"], "08");
    assert_eq!(ha_giang["commune_code"], Value::Null);

    let explicit = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Tuyên Quang", "province_code": "08", "province_map": "2008"}),
    )
    .await;
    assert_eq!(explicit["province_code"], "08");
    assert_eq!(explicit["current_province_code"], "08");

    // Hà Nội absorbed no other province, so its current code alone says which 2008 one it was.
    let ha_noi = create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Hà Nội", "province_code": "01", "province_map": "current"}),
    )
    .await;
    assert_eq!(ha_noi["province_code"], "01");
    assert_eq!(ha_noi["current_province_code"], "01");
    assert_eq!(ha_noi["commune_code"], Value::Null);
    assert_eq!(
        json_ok(&app, &format!("/households/{}", id(&ha_noi)), None).await,
        ha_noi
    );
}

async fn unknown_or_contradictory_household_places_are_rejected_and_store_nothing(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let cases = [
        (json!({"commune_code": "99999"}), "commune_code"),
        (json!({"commune_code": "abc"}), "commune_code"),
        (
            json!({"commune_code": "99999", "province_code": "24"}),
            "commune_code",
        ),
        (json!({"province_code": "03"}), "province_code"),
        (
            json!({"province_code": "27", "province_map": "current"}),
            "province_code",
        ),
        // Current 24 Bắc Ninh absorbed two former provinces: the commune must say which.
        (
            json!({"province_code": "24", "province_map": "current"}),
            "province_code",
        ),
        (
            json!({"commune_code": VU_NINH, "province_code": "24"}),
            "province_code",
        ),
        (
            json!({"commune_code": LUC_NGAN, "province_code": "27"}),
            "province_code",
        ),
        (
            json!({"commune_code": HA_GIANG_2, "province_code": "24", "province_map": "current"}),
            "province_code",
        ),
    ];
    for (place, field) in cases {
        let mut body = place.clone();
        body["name"] = json!("Hộ ông Đặng Văn Lâm");
        let answer = app.post("/households", Some(&farmer), body).await;
        answer.assert_problem(422, "validation_failed");
        assert!(
            answer.problem_fields().contains(&field.to_owned()),
            "{place} names {field}: {}",
            answer.text
        );
    }
    // Neither a commune nor a province.
    app.post(
        "/households",
        Some(&farmer),
        json!({"name": "Hộ không địa chỉ"}),
    )
    .await
    .assert_problem(422, "validation_failed");

    assert_eq!(
        json_ok(&app, "/households", None).await["total"],
        0,
        "nothing was created"
    );
    // The same farmer can still register a good one.
    create_household(
        &app,
        &farmer,
        json!({"name": "Hộ ông Đặng Văn Lâm", "commune_code": LUC_NGAN}),
    )
    .await;
    assert_eq!(json_ok(&app, "/households", None).await["total"], 1);
}

async fn households_are_filtered_by_a_current_or_a_2008_province(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let bac_giang = id(&create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Lục Ngạn", "commune_code": LUC_NGAN}),
    )
    .await);
    let bac_ninh = id(&create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Vũ Ninh", "commune_code": VU_NINH}),
    )
    .await);
    let ha_giang = id(&create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Hà Giang", "province_code": "02"}),
    )
    .await);
    let ha_noi = id(&create_household(
        &app,
        &farmer,
        json!({"name": "Hộ Hà Nội", "province_code": "01"}),
    )
    .await);

    assert_eq!(
        listed(&app, "/households?province_code=24", None).await,
        set(&[&bac_giang, &bac_ninh]),
        "the current map by default"
    );
    assert_eq!(
        listed(&app, "/households?province_code=24&map=current", None).await,
        set(&[&bac_giang, &bac_ninh])
    );
    assert_eq!(
        listed(&app, "/households?province_code=24&map=2008", None).await,
        set(&[&bac_giang])
    );
    assert_eq!(
        listed(&app, "/households?province_code=27&map=2008", None).await,
        set(&[&bac_ninh])
    );
    assert_eq!(
        listed(&app, "/households?province_code=08", None).await,
        set(&[&ha_giang])
    );
    assert_eq!(
        listed(&app, "/households?province_code=02&map=2008", None).await,
        set(&[&ha_giang])
    );
    assert!(
        listed(&app, "/households?province_code=08&map=2008", None)
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&app, "/households?province_code=01", None).await,
        set(&[&ha_noi])
    );
    assert_eq!(listed(&app, "/households", None).await.len(), 4);

    app.get("/households?province_code=24&map=xyz", None)
        .await
        .assert_problem(422, "validation_failed");
}

async fn product_origins_keep_their_map_and_their_current_province(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let household = id(&create_household(
        &app,
        &farmer,
        json!({"name": "Hộ ông Hùng", "commune_code": LUC_NGAN}),
    )
    .await);
    let origin = |product: &Value| {
        (
            product["origin_province_code"].clone(),
            product["origin_map"].clone(),
            product["origin_current_code"].clone(),
        )
    };

    let default = app
        .product(&farmer, &household, json!({"name": "Vải thiều"}))
        .await;
    assert_eq!(
        origin(&default),
        (json!("24"), json!("2008"), json!("24")),
        "left out: the household's 2008 province"
    );
    let path = format!("/products/{}", id(&default));
    assert_eq!(
        origin(&json_ok(&app, &path, Some(&farmer)).await),
        origin(&default)
    );

    let former_bac_ninh = app
        .product(
            &farmer,
            &household,
            json!({"name": "Gà Hồ", "origin_province_code": "27"}),
        )
        .await;
    assert_eq!(
        origin(&former_bac_ninh),
        (json!("27"), json!("2008"), json!("24"))
    );

    let explicit_2008 = app
        .product(
            &farmer,
            &household,
            json!({"name": "Cam sành", "origin_province_code": "02", "origin_map": "2008"}),
        )
        .await;
    assert_eq!(
        origin(&explicit_2008),
        (json!("02"), json!("2008"), json!("08"))
    );

    let current = app
        .product(
            &farmer,
            &household,
            json!({"name": "Mật ong", "origin_province_code": "24", "origin_map": "current"}),
        )
        .await;
    assert_eq!(
        origin(&current),
        (json!("24"), json!("current"), json!("24"))
    );
    let current_tuyen_quang = app
        .product(
            &farmer,
            &household,
            json!({"name": "Chè xanh", "origin_province_code": "08", "origin_map": "current"}),
        )
        .await;
    assert_eq!(
        origin(&current_tuyen_quang),
        (json!("08"), json!("current"), json!("08"))
    );

    for fields in [
        json!({"origin_province_code": "03"}),
        json!({"origin_province_code": "03", "origin_map": "2008"}),
        json!({"origin_province_code": "27", "origin_map": "current"}),
        json!({"origin_province_code": "02", "origin_map": "current"}),
    ] {
        let answer = app
            .post(
                "/products",
                Some(&farmer),
                product_body(&household, fields.clone()),
            )
            .await;
        answer.assert_problem(422, "validation_failed");
        assert!(
            answer
                .problem_fields()
                .contains(&"origin_province_code".to_owned()),
            "{fields}: {}",
            answer.text
        );
    }
    assert_eq!(
        json_ok(&app, "/products", None).await["total"],
        5,
        "the rejected ones were not created"
    );
}

async fn products_are_found_by_origin_on_either_map_and_by_its_province_names(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let bac_giang = id(&create_household(
        &app,
        &farmer,
        json!({"name": "Hộ ông Hùng", "commune_code": LUC_NGAN}),
    )
    .await);
    let ha_giang = id(&create_household(
        &app,
        &farmer,
        json!({"name": "Hộ ông Páo", "province_code": "02"}),
    )
    .await);
    let lychee = id(&app
        .product(&farmer, &bac_giang, json!({"name": "Vải thiều"}))
        .await);
    let from_27 = id(&app
        .product(
            &farmer,
            &bac_giang,
            json!({"name": "Gà Hồ", "category": "livestock", "origin_province_code": "27"}),
        )
        .await);
    let from_current_24 = id(&app
        .product(
            &farmer,
            &bac_giang,
            json!({"name": "Mật ong", "category": "processed", "origin_province_code": "24",
                   "origin_map": "current"}),
        )
        .await);
    let tea = id(&app
        .product(
            &farmer,
            &ha_giang,
            json!({"name": "Chè Shan tuyết", "category": "tea_coffee"}),
        )
        .await);

    assert_eq!(
        listed(&app, "/products?province_code=24", None).await,
        set(&[&lychee, &from_27, &from_current_24]),
        "the current map by default"
    );
    assert_eq!(
        listed(&app, "/products?province_code=24&map=current", None).await,
        set(&[&lychee, &from_27, &from_current_24])
    );
    assert_eq!(
        listed(&app, "/products?province_code=24&map=2008", None).await,
        set(&[&lychee])
    );
    assert_eq!(
        listed(&app, "/products?province_code=27&map=2008", None).await,
        set(&[&from_27])
    );
    assert_eq!(
        listed(&app, "/products?province_code=08", None).await,
        set(&[&tea])
    );
    assert_eq!(
        listed(&app, "/products?province_code=02&map=2008", None).await,
        set(&[&tea])
    );

    // `bắc giang` still finds Bắc Giang produce (now in Bắc Ninh), not Hà Giang's.
    let bac_giang_search = listed(&app, "/products?q=b%E1%BA%AFc%20giang", None).await;
    assert!(bac_giang_search.contains(&lychee), "{bac_giang_search:?}");
    assert!(!bac_giang_search.contains(&tea), "{bac_giang_search:?}");
    assert!(!bac_giang_search.contains(&from_27), "{bac_giang_search:?}");
    assert_eq!(
        listed(&app, "/products?q=bac%20giang", None).await,
        bac_giang_search,
        "without diacritics too"
    );
    assert_eq!(
        listed(&app, "/products?q=bac%20ninh", None).await,
        set(&[&lychee, &from_27, &from_current_24]),
        "the current province's name"
    );
    assert_eq!(
        listed(&app, "/products?q=tuyen%20quang", None).await,
        set(&[&tea])
    );
    assert_eq!(
        listed(&app, "/products?q=v%E1%BA%A3i%20b%E1%BA%AFc%20giang", None).await,
        set(&[&lychee]),
        "name and province words together"
    );
}

async fn a_shipping_commune_sets_the_current_province_and_a_bad_one_takes_no_stock(app: TestApp) {
    let (farmer, _, product) = app
        .seller_with_product(10, json!({"name": "Vải thiều"}))
        .await;
    let buyer = app.signed_in("buyer").await;
    let order = |commune: &str| {
        json!({"items": [{"product_id": product, "quantity": 2}],
               "shipping": {"recipient_name": "Trần Thị Hoa", "phone": "0987 654 321",
                            "address": "Tổ 5", "commune_code": commune}})
    };
    let answer = app.post("/orders", Some(&buyer), order(HA_GIANG_2)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let placed = answer.json();
    let shipping = &placed["shipping"];
    assert_eq!(shipping["commune_code"], HA_GIANG_2);
    assert_eq!(
        shipping["province_code"], "08",
        "the commune's current province"
    );
    assert_eq!(shipping["province_map"], "current");
    assert_eq!(shipping["country_code"], "VN");
    let read = json_ok(&app, &format!("/orders/{}", id(&placed)), Some(&buyer)).await;
    assert_eq!(&read["shipping"], shipping);
    assert_eq!(app.stock_of(&farmer, &product).await, 8);

    for bad in ["99999", "abc"] {
        let answer = app.post("/orders", Some(&buyer), order(bad)).await;
        answer.assert_problem(422, "validation_failed");
        assert!(
            answer
                .problem_fields()
                .contains(&"shipping.commune_code".to_owned()),
            "{bad}: {}",
            answer.text
        );
    }
    assert_eq!(
        app.stock_of(&farmer, &product).await,
        8,
        "rejected orders take no stock"
    );
    assert_eq!(
        json_ok(&app, "/orders", Some(&buyer)).await["total"],
        1,
        "and are not recorded"
    );
    app.assert_rollups_exact();
}

/// A household, its product and its delivered orders, one such per former province; each
/// unit weighs 1 kg.
struct Farm {
    province: &'static str,
    joined: &'static str,
    product: &'static str,
    price: i64,
    created: &'static str,
    orders: [(&'static str, i64, &'static str); 2],
}

fn farms() -> Vec<Farm> {
    vec![
        Farm {
            province: "24",
            joined: "2020-03-02T01:00:00Z",
            product: "Vải thiều",
            price: 30000,
            created: "2020-05-20T02:00:00Z",
            orders: [
                ("2020-06-10T03:00:00Z", 500, "VN"),
                ("2021-06-15T03:00:00Z", 400, "JP"),
            ],
        },
        Farm {
            province: "27",
            joined: "2020-09-10T03:00:00Z",
            product: "Gà Hồ",
            price: 250000,
            created: "2020-10-01T00:00:00Z",
            orders: [
                ("2020-11-01T03:00:00Z", 20, "VN"),
                ("2021-09-01T03:00:00Z", 10, "VN"),
            ],
        },
        Farm {
            province: "02",
            joined: "2020-07-01T03:00:00Z",
            product: "Chè Shan tuyết",
            price: 200000,
            created: "2020-08-01T00:00:00Z",
            orders: [
                ("2020-09-01T03:00:00Z", 30, "VN"),
                ("2021-03-01T03:00:00Z", 15, "DE"),
            ],
        },
        Farm {
            province: "08",
            joined: "2021-05-01T03:00:00Z",
            product: "Bưởi Xuân Vân",
            price: 40000,
            created: "2021-06-01T00:00:00Z",
            orders: [
                ("2021-07-01T03:00:00Z", 50, "VN"),
                ("2021-10-01T03:00:00Z", 60, "VN"),
            ],
        },
        Farm {
            province: "01",
            joined: "2021-01-10T03:00:00Z",
            product: "Rau muống",
            price: 15000,
            created: "2021-01-20T00:00:00Z",
            orders: [
                ("2021-02-01T03:00:00Z", 70, "VN"),
                ("2021-11-01T03:00:00Z", 80, "VN"),
            ],
        },
    ]
}

/// Imports `farms()` as history and returns the admin token.
async fn import_farms(app: &TestApp) -> String {
    let admin = app.signed_in_admin().await;
    let mut lines = Vec::new();
    for (i, farm) in farms().iter().enumerate() {
        lines.push(json!({"kind": "household", "ref": format!("h{i}"),
                          "name": format!("Hộ số {i}"), "province_code": farm.province,
                          "joined_at": farm.joined}));
        lines.push(
            json!({"kind": "product", "ref": format!("p{i}"), "household": format!("h{i}"),
                          "name": farm.product, "category": "fruit", "unit": "kg",
                          "unit_weight_grams": 1000, "price_vnd": farm.price, "stock_quantity": 0,
                          "created_at": farm.created}),
        );
        for (placed, quantity, country) in farm.orders {
            lines.push(json!({"kind": "order", "household": format!("h{i}"),
                              "placed_at": placed, "status": "delivered", "country_code": country,
                              "items": [{"product": format!("p{i}"), "quantity": quantity,
                                         "unit_price_vnd": farm.price}]}));
        }
    }
    let answer = app.import(&admin, ndjson_lines(&lines)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"households": 5, "products": 5, "orders": 10, "views": 0})
    );
    admin
}

const METRICS: [&str; 9] = [
    "households_joined",
    "households_total",
    "products_listed",
    "products_total",
    "orders",
    "transaction_value_vnd",
    "volume_kg",
    "export_volume_kg",
    "product_views",
];

/// A metric's current value in thousandths, so that kilograms add up exactly.
fn milli(row: &Value, metric: &str) -> i64 {
    let value = &row["metrics"][metric]["current"];
    (value
        .as_f64()
        .unwrap_or_else(|| panic!("{metric} of {row}"))
        * 1000.0)
        .round() as i64
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key}: {report}"))
}

fn grand_total(report: &Value, metric: &str) -> i64 {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| milli(r, metric))
        .sum()
}

fn row_keys(report: &Value) -> BTreeSet<String> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect()
}

async fn province_breakdowns_on_both_maps_add_up_to_the_same_totals(app: TestApp) {
    let admin = import_farms(&app).await;
    let base = "/reports/uptake/breakdown?from=2020-01-01&to=2021-12-31&by=province";
    let current = json_ok(&app, base, Some(&admin)).await;
    assert_eq!(
        json_ok(&app, &format!("{base}&map=current"), Some(&admin)).await,
        current,
        "the current map is the default"
    );
    let former = json_ok(&app, &format!("{base}&map=2008"), Some(&admin)).await;

    assert_eq!(current["by"], "province");
    assert_eq!(current["map"], "current");
    assert_eq!(former["map"], "2008");
    assert_eq!(current["rows"].as_array().unwrap().len(), 34);
    assert_eq!(former["rows"].as_array().unwrap().len(), 63);
    assert_eq!(
        row_keys(&current),
        set(&codes(&json_ok(&app, "/provinces", None).await))
    );
    assert_eq!(
        row_keys(&former),
        set(&codes(&json_ok(&app, "/provinces?map=2008", None).await))
    );
    assert_eq!(row(&current, "24")["label"], "Bắc Ninh");
    assert_eq!(row(&former, "24")["label"], "Bắc Giang");
    assert_eq!(row(&former, "27")["label"], "Bắc Ninh");

    // The figures themselves, from the imported history.
    assert_eq!(row(&former, "24")["metrics"]["orders"]["current"], 2);
    assert_eq!(row(&current, "24")["metrics"]["orders"]["current"], 4);
    assert_eq!(
        row(&current, "24")["metrics"]["transaction_value_vnd"]["current"],
        900 * 30000 + 30 * 250000
    );
    assert_eq!(
        row(&current, "24")["metrics"]["volume_kg"]["current"],
        930.0
    );
    assert_eq!(
        row(&current, "08")["metrics"]["households_joined"]["current"],
        2
    );
    assert_eq!(row(&current, "79")["metrics"]["orders"]["current"], 0);

    for metric in METRICS {
        assert_eq!(
            grand_total(&current, metric),
            grand_total(&former, metric),
            "{metric}: the same grand total on both maps"
        );
        assert_eq!(
            milli(row(&current, "24"), metric),
            milli(row(&former, "24"), metric) + milli(row(&former, "27"), metric),
            "{metric}: current Bắc Ninh is former Bắc Giang and Bắc Ninh"
        );
        assert_eq!(
            milli(row(&current, "08"), metric),
            milli(row(&former, "02"), metric) + milli(row(&former, "08"), metric),
            "{metric}: current Tuyên Quang is former Hà Giang and Tuyên Quang"
        );
        assert_eq!(
            milli(row(&current, "01"), metric),
            milli(row(&former, "01"), metric),
            "{metric}: Hà Nội absorbed no other province"
        );
    }
    assert_eq!(grand_total(&current, "orders"), 10 * 1000);
    assert_eq!(grand_total(&current, "households_joined"), 5 * 1000);

    for (map, header, rows) in [
        ("", "province_code_current", 34),
        ("&map=current", "province_code_current", 34),
        ("&map=2008", "province_code_2008", 63),
    ] {
        let csv = app
            .get(&format!("{base}{map}&format=csv"), Some(&admin))
            .await;
        assert_eq!(csv.status, 200, "{}", csv.text);
        assert!(csv.content_type().starts_with("text/csv"));
        let text = csv.text.trim_start_matches('\u{feff}');
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split(',').next(),
            Some(header),
            "{map}: {}",
            lines[0]
        );
        assert_eq!(
            lines.len(),
            rows + 1,
            "{map}: a header and one row per province"
        );
    }

    for map in ["xyz", "2025"] {
        let answer = app.get(&format!("{base}&map={map}"), Some(&admin)).await;
        answer.assert_problem(422, "validation_failed");
    }
    app.assert_rollups_exact();
}

async fn the_products_report_filters_origins_on_either_map(app: TestApp) {
    let admin = import_farms(&app).await;
    let base = "/reports/products?from=2020-01-01&to=2021-12-31";
    let totals = |report: Value| report["totals"].clone();

    let current_24 = totals(json_ok(&app, &format!("{base}&province_code=24"), Some(&admin)).await);
    assert_eq!(current_24["products"], 2, "former Bắc Giang and Bắc Ninh");
    assert_eq!(current_24["orders"], 4);
    assert_eq!(current_24["value_vnd"], 900 * 30000 + 30 * 250000);
    assert_eq!(current_24["volume_kg"], 930.0);
    assert_eq!(
        totals(
            json_ok(
                &app,
                &format!("{base}&province_code=24&map=current"),
                Some(&admin)
            )
            .await
        ),
        current_24
    );

    let former_24 = totals(
        json_ok(
            &app,
            &format!("{base}&province_code=24&map=2008"),
            Some(&admin),
        )
        .await,
    );
    assert_eq!(former_24["products"], 1, "former Bắc Giang alone");
    assert_eq!(former_24["orders"], 2);
    assert_eq!(former_24["value_vnd"], 900 * 30000);
    assert_eq!(former_24["volume_kg"], 900.0);
    assert_eq!(former_24["export_by_country"], json!({"JP": 400.0}));

    let former_27 = totals(
        json_ok(
            &app,
            &format!("{base}&province_code=27&map=2008"),
            Some(&admin),
        )
        .await,
    );
    assert_eq!(former_27["products"], 1);
    assert_eq!(former_27["value_vnd"], 30 * 250000);

    let current_08 = totals(json_ok(&app, &format!("{base}&province_code=08"), Some(&admin)).await);
    assert_eq!(current_08["products"], 2, "former Hà Giang and Tuyên Quang");
    assert_eq!(current_08["value_vnd"], 45 * 200000 + 110 * 40000);

    let rows = json_ok(
        &app,
        &format!("{base}&province_code=24&map=2008"),
        Some(&admin),
    )
    .await["rows"]
        .clone();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Vải thiều"]);

    app.get(&format!("{base}&province_code=24&map=xyz"), Some(&admin))
        .await
        .assert_problem(422, "validation_failed");
    app.assert_rollups_exact();
}

async fn imports_place_households_by_commune_or_by_a_province_with_its_map(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let ambiguous = ndjson_lines(&[
        json!({"kind": "household", "ref": "h1", "name": "Hộ bà Xuyến", "province_code": "24",
               "map": "current", "joined_at": "2020-03-02T01:00:00Z"}),
    ]);
    let body = app
        .import(&admin, ambiguous)
        .await
        .assert_problem(422, "import_rejected");
    let lines: Vec<u64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1], "{body}");

    let bad_commune = ndjson_lines(&[
        json!({"kind": "household", "ref": "h1", "name": "Hộ ông Khoát", "province_code": "01",
               "joined_at": "2020-03-02T01:00:00Z"}),
        json!({"kind": "household", "ref": "h2", "name": "Hộ bà Xuyến", "commune_code": "99999",
               "joined_at": "2020-03-02T01:00:00Z"}),
    ]);
    let body = app
        .import(&admin, bad_commune)
        .await
        .assert_problem(422, "import_rejected");
    assert_eq!(body["errors"][0]["line"], 2, "{body}");
    assert_eq!(
        json_ok(&app, "/households", Some(&admin)).await["total"],
        0,
        "nothing was written"
    );

    let good = ndjson_lines(&[
        json!({"kind": "household", "ref": "h1", "name": "Hộ bà Xuyến", "commune_code": VU_NINH,
               "joined_at": "2020-03-02T01:00:00Z"}),
        json!({"kind": "household", "ref": "h2", "name": "Hộ ông Khoát", "province_code": "01",
               "province_map": "current", "joined_at": "2020-04-02T01:00:00Z"}),
        json!({"kind": "household", "ref": "h3", "name": "Hộ ông Páo", "province_code": "02",
               "joined_at": "2020-05-02T01:00:00Z"}),
        json!({"kind": "household", "ref": "h4", "name": "Hộ ông Thắng", "province_code": "24",
               "map": "2008", "joined_at": "2020-06-02T01:00:00Z"}),
    ]);
    let answer = app.import(&admin, good).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["households"], 4);

    let find = |q: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let found = json_ok(app, &format!("/households?q={q}"), Some(&admin)).await;
            assert_eq!(found["total"], 1, "q={q}: {found}");
            found["items"][0].clone()
        }
    };
    let xuyen = find("xuyen").await;
    assert_eq!(xuyen["province_code"], "27");
    assert_eq!(xuyen["current_province_code"], "24");
    assert_eq!(xuyen["commune_code"], VU_NINH);
    let khoat = find("khoat").await;
    assert_eq!(khoat["province_code"], "01");
    assert_eq!(khoat["current_province_code"], "01");
    assert_eq!(khoat["commune_code"], Value::Null);
    let pao = find("pao").await;
    assert_eq!(pao["province_code"], "02");
    assert_eq!(pao["current_province_code"], "08");
    let thang = find("thang").await;
    assert_eq!(thang["province_code"], "24");
    assert_eq!(thang["current_province_code"], "24");

    assert_eq!(
        listed(&app, "/households?province_code=24", Some(&admin)).await,
        set(&[id(&xuyen), id(&thang)])
    );
    app.assert_rollups_exact();
}

/// A PATCH with a new place replaces the old one whole: a commune sets both provinces, and a
/// province given alone clears the commune.
async fn a_household_moved_to_another_place_takes_the_new_place_whole(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let created = app
        .post(
            "/households",
            Some(&farmer),
            json!({"name": "Hộ Xuyến", "commune_code": LUC_NGAN}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("/households/{}", id(&created.json()));

    let moved = app
        .patch(&path, Some(&farmer), json!({"commune_code": HA_GIANG_2}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let moved = moved.json();
    assert_eq!(
        (
            &moved["province_code"],
            &moved["current_province_code"],
            &moved["commune_code"]
        ),
        (&json!("02"), &json!("08"), &json!(HA_GIANG_2))
    );

    let by_province = app
        .patch(&path, Some(&farmer), json!({"province_code": "27"}))
        .await;
    assert_eq!(by_province.status, 200, "{}", by_province.text);
    let by_province = by_province.json();
    assert_eq!(by_province["province_code"], "27");
    assert_eq!(by_province["current_province_code"], "24");
    assert_eq!(by_province["commune_code"], Value::Null);

    let refused = app
        .patch(&path, Some(&farmer), json!({"commune_code": "99999"}))
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.problem_fields(), ["commune_code"]);
    let unchanged = app.get(&path, Some(&farmer)).await.json();
    assert_eq!(unchanged["province_code"], "27");
    assert_eq!(unchanged["commune_code"], Value::Null);
}
