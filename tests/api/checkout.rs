//! Carts across farms: shipping quotes by zone (same province, same region, another region,
//! abroad) and by weight step, one parcel per household; nothing is taken or stored.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

/// Xã Lục Ngạn: current province 24 (Bắc Ninh, north).
const LUC_NGAN: &str = "07582";

/// A farmer's household in a 2008 province with one product of `grams` per unit at `price`.
async fn farm_product(
    app: &TestApp,
    farmer: &str,
    province: &str,
    grams: i64,
    price: i64,
) -> (String, String) {
    let household = id(&app
        .household(farmer, &format!("Hộ ở {province}"), province)
        .await);
    let product = id(&app
        .product(
            farmer,
            &household,
            json!({"unit_weight_grams": grams, "price_vnd": price, "stock_quantity": 10}),
        )
        .await);
    (household, product)
}

async fn quote(app: &TestApp, items: Value, shipping: Value) -> Value {
    let answer = app
        .post(
            "/shipping/quote",
            None,
            json!({"items": items, "shipping": shipping}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

fn parcel<'a>(quote: &'a Value, household: &str) -> &'a Value {
    quote["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["household_id"] == household)
        .unwrap_or_else(|| panic!("no parcel of {household}: {quote}"))
}

async fn a_cart_across_farms_pays_each_parcels_zone_and_weight(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let (bac_giang, lychee) = farm_product(&app, &farmer, "24", 500, 40_000).await;
    let (ha_noi, rice) = farm_product(&app, &farmer, "01", 1001, 30_000).await;
    let (sai_gon, mango) = farm_product(&app, &farmer, "79", 1500, 50_000).await;
    let extra = id(&app
        .product(
            &farmer,
            &sai_gon,
            json!({"name": "Muối tôm", "unit_weight_grams": 1, "price_vnd": 5_000}),
        )
        .await);
    let items = json!([
        {"product_id": lychee, "quantity": 2},
        {"product_id": rice, "quantity": 1},
        {"product_id": mango, "quantity": 1},
        {"product_id": extra, "quantity": 1},
    ]);
    let home = quote(&app, items.clone(), json!({"commune_code": LUC_NGAN})).await;
    // Defaults (config/default.toml): first 1,000 g, then each started 500 g.
    let expect = |household: &str, zone: &str, grams: i64, goods: i64, fee: i64| {
        let parcel = parcel(&home, household);
        assert_eq!(
            (
                parcel["zone"].as_str().unwrap(),
                parcel["weight_grams"].as_i64().unwrap(),
                parcel["goods_vnd"].as_i64().unwrap(),
                parcel["shipping_vnd"].as_i64().unwrap()
            ),
            (zone, grams, goods, fee),
            "{household}"
        );
    };
    expect(&bac_giang, "same_province", 1000, 80_000, 18_000); // exactly the first step
    expect(&ha_noi, "same_region", 1001, 30_000, 25_000 + 4_000); // one gram over: one step
    expect(&sai_gon, "other_region", 1501, 55_000, 35_000 + 2 * 7_000); // two steps started
    assert_eq!(home["parcels"].as_array().unwrap().len(), 3);
    assert_eq!(home["goods_vnd"], 165_000);
    assert_eq!(home["shipping_vnd"], 18_000 + 29_000 + 49_000);
    assert_eq!(home["total_vnd"], 165_000 + 96_000);

    // A 2008 province code places the destination too: Hồ Chí Minh City is Sài Gòn's own.
    let south = quote(&app, items.clone(), json!({"province_code": "79"})).await;
    assert_eq!(parcel(&south, &sai_gon)["zone"], "same_province");
    assert_eq!(parcel(&south, &bac_giang)["zone"], "other_region");

    // Abroad: the first export zone naming the country, else the last.
    let japan = quote(
        &app,
        json!([{"product_id": lychee, "quantity": 1}]),
        json!({"country_code": "jp"}),
    )
    .await;
    assert_eq!(parcel(&japan, &bac_giang)["zone"], "export_asia");
    assert_eq!(japan["shipping_vnd"], 280_000);
    let japan = quote(
        &app,
        json!([{"product_id": lychee, "quantity": 2}]),
        json!({"country_code": "JP"}),
    )
    .await;
    assert_eq!(
        japan["shipping_vnd"],
        280_000 + 85_000,
        "1,000 g: one 500 g step past the first"
    );
    let france = quote(
        &app,
        json!([{"product_id": lychee, "quantity": 1}]),
        json!({"country_code": "FR"}),
    )
    .await;
    assert_eq!(parcel(&france, &bac_giang)["zone"], "export_world");
    assert_eq!(france["shipping_vnd"], 420_000);

    // A quote takes no stock.
    assert_eq!(
        app.get(&format!("/products/{lychee}"), None).await.json()["stock_quantity"],
        10
    );
}

async fn a_bad_cart_is_refused_naming_each_problem(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let (_, lychee) = farm_product(&app, &farmer, "24", 500, 40_000).await;
    let refused = |items: Value, shipping: Value, fields: &'static [&'static str]| {
        let app = &app;
        async move {
            let answer = app
                .post(
                    "/shipping/quote",
                    None,
                    json!({"items": items, "shipping": shipping}),
                )
                .await;
            answer.assert_problem(422, "validation_failed");
            assert_eq!(answer.problem_fields(), fields, "{}", answer.text);
        }
    };
    let unknown = uuid::Uuid::now_v7().to_string();
    refused(
        json!([{"product_id": unknown, "quantity": 1}]),
        json!({"commune_code": LUC_NGAN}),
        &["items[0].product_id"],
    )
    .await;
    refused(
        json!([{"product_id": lychee, "quantity": 1}, {"product_id": lychee, "quantity": 2}]),
        json!({"commune_code": LUC_NGAN}),
        &["items[1].product_id"],
    )
    .await;
    refused(
        json!([{"product_id": lychee, "quantity": 0}]),
        json!({"commune_code": LUC_NGAN}),
        &["items[0].quantity"],
    )
    .await;
    refused(
        json!([{"product_id": lychee, "quantity": 1}]),
        json!({}),
        &["shipping.commune_code"],
    )
    .await;
    refused(
        json!([{"product_id": lychee, "quantity": 1}]),
        json!({"country_code": "XX"}),
        &["shipping.country_code"],
    )
    .await;
    refused(json!([]), json!({"commune_code": LUC_NGAN}), &["items"]).await;
    // An archived product is not on sale.
    app.delete(&format!("/products/{lychee}"), Some(&farmer))
        .await;
    refused(
        json!([{"product_id": lychee, "quantity": 1}]),
        json!({"commune_code": LUC_NGAN}),
        &["items[0].product_id"],
    )
    .await;

    // At most 20 households in one cart.
    let mut items = Vec::new();
    for n in 0..21 {
        let household = id(&app.household(&farmer, &format!("Hộ {n}"), "01").await);
        let product = id(&app.product(&farmer, &household, json!({})).await);
        items.push(json!({"product_id": product, "quantity": 1}));
    }
    refused(
        Value::Array(items.clone()),
        json!({"commune_code": LUC_NGAN}),
        &["items"],
    )
    .await;
    items.pop();
    quote(&app, Value::Array(items), json!({"commune_code": LUC_NGAN})).await;

    // More than one checkout takes (10^15 đồng): the quote refuses it as the checkout does.
    let household = id(&app.household(&farmer, "Hộ bán sỉ", "01").await);
    let dear = id(&app
        .product(
            &farmer,
            &household,
            json!({"price_vnd": 1_000_000_000_000_000_i64, "stock_quantity": 5}),
        )
        .await);
    let too_much = json!([{"product_id": dear, "quantity": 2}]);
    refused(
        too_much.clone(),
        json!({"commune_code": LUC_NGAN}),
        &["items"],
    )
    .await;
    let buyer = app.signed_in("buyer").await;
    let checkout = app
        .post(
            "/checkouts",
            Some(&buyer),
            json!({"items": too_much, "shipping": shipping("VN"), "payment_method": "cod"}),
        )
        .await;
    checkout.assert_problem(422, "validation_failed");
    assert_eq!(checkout.problem_fields(), ["items"]);
    assert_eq!(app.stock_of(&farmer, &dear).await, 5);
}

/// A household may ship free from a parcel value it chooses: below it the parcel pays its fee,
/// from it on nothing; null clears it; a bad value is refused naming the field.
async fn a_household_ships_free_from_the_value_it_sets(app: TestApp) {
    let farmer = app.signed_in("farmer").await;
    let (household, product) = farm_product(&app, &farmer, "24", 1000, 25_000).await;
    let path = format!("/households/{household}");
    for bad in [json!(-1), json!("many"), json!(2_000_000_000_000_000_i64)] {
        let answer = app
            .patch(&path, Some(&farmer), json!({"free_shipping_from_vnd": bad}))
            .await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.problem_fields(), ["free_shipping_from_vnd"]);
    }
    let set = app
        .patch(
            &path,
            Some(&farmer),
            json!({"free_shipping_from_vnd": 100_000}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json()["free_shipping_from_vnd"], 100_000);
    let to_luc_ngan = json!({"commune_code": LUC_NGAN});
    let items = |quantity: i64| json!([{"product_id": product, "quantity": quantity}]);
    // 75,000 đồng of goods pays the fee; 100,000 ships free.
    let below = quote(&app, items(3), to_luc_ngan.clone()).await;
    assert_eq!(below["parcels"][0]["goods_vnd"], 75_000);
    assert!(below["shipping_vnd"].as_i64().unwrap() > 0, "{below}");
    let from = quote(&app, items(4), to_luc_ngan.clone()).await;
    assert_eq!(from["parcels"][0]["goods_vnd"], 100_000);
    assert_eq!(from["shipping_vnd"], 0, "{from}");
    assert_eq!(from["total_vnd"], 100_000);
    // An order at the threshold carries no fee either.
    let buyer = app.signed_in("buyer").await;
    let order = app.place_order(&buyer, items(4), None).await;
    assert_eq!(order.status, 201, "{}", order.text);
    assert_eq!(order.json()["shipping_vnd"], 0);
    // Cleared: the same parcel pays again.
    let cleared = app
        .patch(
            &path,
            Some(&farmer),
            json!({"free_shipping_from_vnd": null}),
        )
        .await;
    assert_eq!(cleared.json()["free_shipping_from_vnd"], Value::Null);
    let again = quote(&app, items(4), to_luc_ngan).await;
    assert!(again["shipping_vnd"].as_i64().unwrap() > 0, "{again}");
    assert_eq!(
        again["total_vnd"],
        100_000 + again["shipping_vnd"].as_i64().unwrap()
    );
}

on_both_backends!(
    a_cart_across_farms_pays_each_parcels_zone_and_weight,
    a_bad_cart_is_refused_naming_each_problem,
    a_household_ships_free_from_the_value_it_sets,
);
