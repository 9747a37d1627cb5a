//! Statistics: imported history against metrics the test computes on its own, rejected imports,
//! rollups against a full recomputation, formats and permissions, and the demo's figures.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::helpers::{Answer, PASSWORD, TestApp, binary, buyers, eventually, shipping};
use crate::on_both_backends;

on_both_backends!(
    imported_history_reports_every_metric_exactly,
    a_rejected_import_names_each_bad_line_and_changes_nothing,
    an_import_refuses_the_owners_registering_would,
    rollups_agree_with_a_full_recomputation_after_a_random_mix,
    reports_answer_json_csv_and_svg_to_admins_only,
);

struct H {
    r: &'static str,
    province: &'static str,
    joined: &'static str,
    suspended: bool,
}
struct P {
    r: &'static str,
    h: &'static str,
    name: &'static str,
    category: &'static str,
    grams: i64,
    price: i64,
    created: &'static str,
    archived: bool,
}
struct O {
    h: &'static str,
    placed: &'static str,
    status: &'static str,
    country: &'static str,
    items: Vec<(&'static str, i64, i64)>,
}
struct V {
    p: &'static str,
    date: &'static str,
    count: i64,
}

/// A small history with the awkward cases: days that begin at 17:00 UTC, suspended households,
/// archived products, cancelled and export orders, 29 February.
fn history() -> (Vec<H>, Vec<P>, Vec<O>, Vec<V>) {
    let households = vec![
        H {
            r: "h1",
            province: "24",
            joined: "2020-03-02T01:00:00Z",
            suspended: false,
        },
        H {
            r: "h2",
            province: "01",
            joined: "2021-02-10T10:00:00Z",
            suspended: false,
        },
        H {
            r: "h3",
            province: "24",
            joined: "2021-06-30T18:00:00Z",
            suspended: false,
        }, // 1 July in Vietnam
        H {
            r: "h4",
            province: "79",
            joined: "2020-12-31T17:30:00Z",
            suspended: false,
        }, // 1 January 2021
        H {
            r: "h5",
            province: "01",
            joined: "2021-03-01T08:00:00+07:00",
            suspended: true,
        },
        H {
            r: "h6",
            province: "24",
            joined: "2020-02-29T12:00:00Z",
            suspended: false,
        },
        H {
            r: "h7",
            province: "87",
            joined: "2020-05-01T00:00:00Z",
            suspended: false,
        },
    ];
    let products = vec![
        P {
            r: "p1",
            h: "h1",
            name: "Vải thiều Lục Ngạn",
            category: "fruit",
            grams: 1000,
            price: 30000,
            created: "2020-05-20T02:00:00Z",
            archived: false,
        },
        P {
            r: "p2",
            h: "h2",
            name: "Gạo ST25",
            category: "rice_grain",
            grams: 5000,
            price: 150000,
            created: "2021-03-01T00:00:00Z",
            archived: false,
        },
        P {
            r: "p3",
            h: "h4",
            name: "Tôm sú",
            category: "seafood",
            grams: 1000,
            price: 250000,
            created: "2021-01-05T00:00:00Z",
            archived: true,
        },
        P {
            r: "p4",
            h: "h1",
            name: "Chè Tân Cương",
            category: "tea_coffee",
            grams: 500,
            price: 200000,
            created: "2021-06-30T17:00:00Z",
            archived: false,
        },
        P {
            r: "p5",
            h: "h7",
            name: "Xoài cát Hòa Lộc",
            category: "fruit",
            grams: 1000,
            price: 55000,
            created: "2020-06-01T00:00:00Z",
            archived: false,
        },
        P {
            r: "p6",
            h: "h1",
            name: "Vải thiều sấy khô",
            category: "processed",
            grams: 500,
            price: 120000,
            created: "2021-04-01T00:00:00Z",
            archived: false,
        },
    ];
    let orders = vec![
        O {
            h: "h1",
            placed: "2020-06-10T03:00:00Z",
            status: "delivered",
            country: "VN",
            items: vec![("p1", 500, 30000)],
        },
        O {
            h: "h7",
            placed: "2020-06-20T03:00:00Z",
            status: "delivered",
            country: "JP",
            items: vec![("p5", 200, 55000)],
        },
        O {
            h: "h7",
            placed: "2020-03-15T03:00:00Z",
            status: "shipped",
            country: "VN",
            items: vec![("p5", 10, 50000)],
        },
        O {
            h: "h1",
            placed: "2021-06-15T03:00:00Z",
            status: "delivered",
            country: "JP",
            items: vec![("p1", 400, 31000), ("p6", 20, 120000)],
        },
        O {
            h: "h2",
            placed: "2021-04-01T03:00:00Z",
            status: "confirmed",
            country: "VN",
            items: vec![("p2", 10, 150000)],
        },
        O {
            h: "h1",
            placed: "2021-06-30T18:00:00Z",
            status: "delivered",
            country: "VN",
            items: vec![("p1", 100, 30000)],
        },
        O {
            h: "h2",
            placed: "2021-05-05T03:00:00Z",
            status: "cancelled",
            country: "VN",
            items: vec![("p2", 99, 150000)],
        },
        O {
            h: "h1",
            placed: "2021-01-01T00:00:00+07:00",
            status: "placed",
            country: "AU",
            items: vec![("p1", 7, 29000)],
        },
        O {
            h: "h4",
            placed: "2021-02-01T03:00:00Z",
            status: "delivered",
            country: "VN",
            items: vec![("p3", 3, 250000)],
        },
    ];
    let views = vec![
        V {
            p: "p1",
            date: "2021-06-10",
            count: 1200,
        },
        V {
            p: "p2",
            date: "2020-06-01",
            count: 50,
        },
        V {
            p: "p1",
            date: "2021-07-01",
            count: 99,
        },
        V {
            p: "p5",
            date: "2020-06-01",
            count: 300,
        },
        V {
            p: "p6",
            date: "2021-04-02",
            count: 7,
        },
    ];
    (households, products, orders, views)
}

fn ndjson(history: &(Vec<H>, Vec<P>, Vec<O>, Vec<V>)) -> Vec<u8> {
    let (households, products, orders, views) = history;
    let mut lines = Vec::new();
    for h in households {
        lines.push(json!({"kind": "household", "ref": h.r, "name": format!("Hộ {}", h.r), "province_code": h.province,
                          "joined_at": h.joined, "owner_email": null,
                          "status": if h.suspended { "suspended" } else { "active" }}));
    }
    for p in products {
        lines.push(json!({"kind": "product", "ref": p.r, "household": p.h, "name": p.name, "category": p.category,
                          "unit": "kg", "unit_weight_grams": p.grams, "price_vnd": p.price, "stock_quantity": 0,
                          "created_at": p.created, "status": if p.archived { "archived" } else { "active" }}));
    }
    for o in orders {
        let items: Vec<Value> = o
            .items
            .iter()
            .map(|(p, q, price)| json!({"product": p, "quantity": q, "unit_price_vnd": price}))
            .collect();
        lines.push(
            json!({"kind": "order", "household": o.h, "placed_at": o.placed, "status": o.status,
                          "country_code": o.country, "items": items}),
        );
    }
    for v in views {
        lines.push(json!({"kind": "views", "product": v.p, "date": v.date, "count": v.count}));
    }
    lines
        .iter()
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .into_bytes()
}

/// The Vietnam calendar day of a timestamp, computed here without the server's code.
fn vn_day(timestamp: &str) -> NaiveDate {
    let utc: DateTime<Utc> = DateTime::parse_from_rfc3339(timestamp)
        .unwrap()
        .with_timezone(&Utc);
    (utc + Duration::hours(7)).date_naive()
}

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// The nine metrics of a period, from the history itself (weights in grams).
fn expected(
    history: &(Vec<H>, Vec<P>, Vec<O>, Vec<V>),
    from: NaiveDate,
    to: NaiveDate,
    keep: &dyn Fn(&str, &str) -> bool,
) -> [i64; 9] {
    let (households, products, orders, views) = history;
    let within = |day: NaiveDate| day >= from && day <= to;
    let province_of = |h: &str| households.iter().find(|x| x.r == h).unwrap().province;
    let product = |r: &str| products.iter().find(|x| x.r == r).unwrap();
    let mut m = [0i64; 9];
    for h in households.iter().filter(|h| keep(h.province, "")) {
        m[0] += within(vn_day(h.joined)) as i64;
        m[1] += (vn_day(h.joined) <= to && !h.suspended) as i64;
    }
    for p in products
        .iter()
        .filter(|p| keep(province_of(p.h), p.category))
    {
        m[2] += within(vn_day(p.created)) as i64;
        m[3] += (vn_day(p.created) <= to && !p.archived) as i64;
    }
    for o in orders
        .iter()
        .filter(|o| o.status != "cancelled" && within(vn_day(o.placed)))
    {
        let lines: Vec<&(&str, i64, i64)> = o
            .items
            .iter()
            .filter(|(p, _, _)| keep(province_of(o.h), product(p).category))
            .collect();
        if lines.is_empty() {
            continue;
        }
        m[4] += 1;
        for (p, q, price) in lines {
            m[5] += q * price;
            m[6] += q * product(p).grams;
            if o.country != "VN" {
                m[7] += q * product(p).grams;
            }
        }
    }
    for v in views
        .iter()
        .filter(|v| keep(province_of(product(v.p).h), product(v.p).category))
    {
        m[8] += within(d(v.date)) as i64 * v.count;
    }
    m
}

const NAMES: [&str; 9] = [
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

fn growth(current: i64, previous: i64) -> Value {
    if previous == 0 {
        return Value::Null;
    }
    json!((((current - previous) as f64 / previous as f64) * 1000.0).round() / 10.0)
}

fn assert_metrics(context: &str, metrics: &Value, current: [i64; 9], previous: Option<[i64; 9]>) {
    for (i, name) in NAMES.iter().enumerate() {
        let m = &metrics[name];
        let shown = |raw: i64| {
            if name.ends_with("_kg") {
                json!(raw as f64 / 1000.0)
            } else {
                json!(raw)
            }
        };
        assert_eq!(
            m["current"],
            shown(current[i]),
            "{context} {name} current: {m}"
        );
        match previous {
            Some(previous) => {
                assert_eq!(
                    m["previous"],
                    shown(previous[i]),
                    "{context} {name} previous: {m}"
                );
                assert_eq!(
                    m["change"],
                    shown(current[i] - previous[i]),
                    "{context} {name} change: {m}"
                );
                assert_eq!(
                    m["growth_pct"],
                    growth(current[i], previous[i]),
                    "{context} {name} growth: {m}"
                );
            }
            None => assert_eq!(
                (&m["previous"], &m["growth_pct"]),
                (&Value::Null, &Value::Null),
                "{context} {name}"
            ),
        }
    }
}

async fn import(app: &TestApp, token: &str, body: Vec<u8>) -> Answer {
    app.import(token, body).await
}

async fn imported_history_reports_every_metric_exactly(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let history = history();
    let answer = import(&app, &admin, ndjson(&history)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"households": 7, "products": 6, "orders": 9, "views": 5})
    );
    let everything = |_: &str, _: &str| true;

    let cases = [
        (
            "2021-01-01",
            "2021-06-30",
            "previous_year",
            Some(("2020-01-01", "2020-06-30")),
        ),
        (
            "2021-01-01",
            "2021-06-30",
            "previous_period",
            Some(("2020-07-04", "2020-12-31")),
        ),
        ("2021-06-01", "2021-07-31", "none", None),
        (
            "2021-02-28",
            "2021-03-31",
            "previous_year",
            Some(("2020-02-28", "2020-03-31")),
        ),
        (
            "2020-02-29",
            "2020-06-30",
            "previous_year",
            Some(("2019-02-28", "2019-06-30")),
        ),
        (
            "2021-07-01",
            "2021-07-01",
            "previous_period",
            Some(("2021-06-30", "2021-06-30")),
        ),
    ];
    for (from, to, compare, compared) in cases {
        let path = format!("/reports/uptake?from={from}&to={to}&compare={compare}");
        let report = app.get(&path, Some(&admin)).await;
        assert_eq!(report.status, 200, "{}", report.text);
        let report = report.json();
        assert_eq!(report["timezone"], "Asia/Ho_Chi_Minh");
        assert_eq!(report["period"], json!({"from": from, "to": to}));
        let previous = compared.map(|(f, t)| {
            assert_eq!(report["compared_to"], json!({"from": f, "to": t}), "{path}");
            expected(&history, d(f), d(t), &everything)
        });
        assert_metrics(
            &path,
            &report["metrics"],
            expected(&history, d(from), d(to), &everything),
            previous,
        );
    }
    // 1 July in Vietnam: the order and the household at 18:00 UTC on 30 June belong to it.
    let july = app
        .get(
            "/reports/uptake?from=2021-07-01&to=2021-07-01&compare=none",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(july["metrics"]["orders"]["current"], 1);
    assert_eq!(july["metrics"]["households_joined"]["current"], 1);
    assert_eq!(july["metrics"]["products_listed"]["current"], 1);

    // Breakdowns: every row against the same computation restricted to its group.
    let (from, to, pf, pt) = (
        d("2021-01-01"),
        d("2021-06-30"),
        d("2020-01-01"),
        d("2020-06-30"),
    );
    let by_province = app
        .get(
            "/reports/uptake/breakdown?from=2021-01-01&to=2021-06-30&by=province&map=2008",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(by_province["by"], "province");
    assert_eq!(by_province["map"], "2008");
    assert_eq!(by_province["rows"].as_array().unwrap().len(), 63);
    for row in by_province["rows"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap().to_owned();
        let keep = |province: &str, _: &str| province == key;
        assert_metrics(
            &format!("province {key}"),
            &row["metrics"],
            expected(&history, from, to, &keep),
            Some(expected(&history, pf, pt, &keep)),
        );
    }
    let bac_giang = by_province["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "24")
        .unwrap();
    assert_eq!(bac_giang["label"], "Bắc Giang");

    let by_month = app
        .get(
            "/reports/uptake/breakdown?from=2021-01-01&to=2021-06-30&by=month",
            Some(&admin),
        )
        .await
        .json();
    let months: Vec<&str> = by_month["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        months,
        [
            "2021-01", "2021-02", "2021-03", "2021-04", "2021-05", "2021-06"
        ]
    );
    for row in by_month["rows"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap();
        let start = d(&format!("{key}-01"));
        let end = (start + Duration::days(32)).with_day0(0).unwrap() - Duration::days(1);
        let year_before = |day: NaiveDate| {
            day.with_year(day.year() - 1)
                .unwrap_or_else(|| day - Duration::days(1))
        };
        assert_metrics(
            key,
            &row["metrics"],
            expected(&history, start, end, &everything),
            Some(expected(
                &history,
                year_before(start),
                year_before(end),
                &everything,
            )),
        );
    }

    let by_category = app
        .get(
            "/reports/uptake/breakdown?from=2021-01-01&to=2021-06-30&by=category",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(by_category["rows"].as_array().unwrap().len(), 8);
    let (_, products, _, _) = &history;
    for row in by_category["rows"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap().to_owned();
        // Households count in each category they list products in.
        let listing: BTreeSet<&str> = products
            .iter()
            .filter(|p| p.category == key)
            .map(|p| p.h)
            .collect();
        let households = |f, t| {
            let all = expected(&history, f, t, &|_: &str, c: &str| c == key);
            let (hh, _, _, _) = &history;
            let joined = hh
                .iter()
                .filter(|h| listing.contains(h.r) && vn_day(h.joined) >= f && vn_day(h.joined) <= t)
                .count() as i64;
            let total = hh
                .iter()
                .filter(|h| listing.contains(h.r) && vn_day(h.joined) <= t && !h.suspended)
                .count() as i64;
            let mut m = all;
            m[0] = joined;
            m[1] = total;
            m
        };
        assert_metrics(
            &format!("category {key}"),
            &row["metrics"],
            households(from, to),
            Some(households(pf, pt)),
        );
    }
    let fruit = by_category["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "fruit")
        .unwrap();
    assert_eq!(fruit["label"], "Trái cây");

    let by_household = app
        .get(
            "/reports/uptake/breakdown?from=2021-01-01&to=2021-06-30&by=household",
            Some(&admin),
        )
        .await
        .json();
    let first = &by_household["rows"][0];
    assert_eq!(first["label"], "Hộ h1", "the busiest household first");

    // Products: each row's own lines; totals over every match; growth of value and volume.
    let report = app
        .get(
            "/reports/products?from=2021-01-01&to=2021-06-30&q=vai%20thieu&sort=value",
            Some(&admin),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let report = report.json();
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Vải thiều Lục Ngạn", "Vải thiều sấy khô"]);
    let lychee = &rows[0];
    assert_eq!(lychee["orders"], 2);
    assert_eq!(lychee["value_vnd"], 400 * 31000 + 7 * 29000);
    assert_eq!(lychee["volume_kg"], 407.0);
    assert_eq!(lychee["export_volume_kg"], 407.0);
    assert_eq!(lychee["export_by_country"], json!({"AU": 7.0, "JP": 400.0}));
    assert_eq!(lychee["views"], 1200);
    assert_eq!(lychee["growth"]["value_vnd"]["previous"], 500 * 30000);
    assert_eq!(
        lychee["growth"]["value_vnd"]["growth_pct"],
        growth(400 * 31000 + 7 * 29000, 500 * 30000)
    );
    assert_eq!(lychee["growth"]["volume_kg"]["previous"], 500.0);
    assert_eq!(
        report["totals"],
        json!({"products": 2, "orders": 3, "value_vnd": 400 * 31000 + 7 * 29000 + 20 * 120000,
               "volume_kg": 417.0, "views": 1207, "export_volume_kg": 417.0,
               "export_by_country": {"AU": 7.0, "JP": 410.0}})
    );
    let top = app
        .get(
            "/reports/products?from=2021-01-01&to=2021-06-30&sort=volume&limit=1",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(top["rows"].as_array().unwrap().len(), 1);
    assert_eq!(top["rows"][0]["name"], "Vải thiều Lục Ngạn");
    assert_eq!(
        top["totals"]["products"], 6,
        "totals cover every product, archived ones too"
    );
    let filtered = app
        .get(
            "/reports/products?from=2021-01-01&to=2021-06-30&category=rice_grain&province_code=01",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(filtered["totals"]["value_vnd"], 1_500_000);
}

async fn snapshot(app: &TestApp, admin: &str) -> (String, String, String) {
    let uptake = app
        .get("/reports/uptake?from=2020-01-01&to=2021-12-31", Some(admin))
        .await
        .text;
    let products = app
        .get(
            "/reports/products?from=2020-01-01&to=2021-12-31&limit=500",
            Some(admin),
        )
        .await
        .text;
    let provinces = app
        .get(
            "/reports/uptake/breakdown?from=2020-01-01&to=2021-12-31&by=province",
            Some(admin),
        )
        .await
        .text;
    (uptake, products, provinces)
}

async fn all_reports(app: &TestApp, admin: &str) -> Vec<String> {
    let mut all = Vec::new();
    for by in ["province", "category", "month", "household"] {
        let path =
            format!("/reports/uptake/breakdown?from=2020-01-01&to=2030-12-31&by={by}&limit=20000");
        all.push(app.get(&path, Some(admin)).await.text);
    }
    all.push(
        app.get(
            "/reports/products?from=2020-01-01&to=2030-12-31&limit=500",
            Some(admin),
        )
        .await
        .text,
    );
    all
}

async fn a_rejected_import_names_each_bad_line_and_changes_nothing(app: TestApp) {
    let admin = app.signed_in_admin().await;
    assert_eq!(import(&app, &admin, ndjson(&history())).await.status, 200);
    let before = snapshot(&app, &admin).await;
    let bad = [
        r#"{"kind": "household", "ref": "n1", "name": "Hộ mới", "province_code": "24", "joined_at": "2021-03-01T00:00:00Z"}"#,
        r#"{"kind": "household", "ref": "n2", "name": "Hộ sai", "province_code": "99"}"#,
        r#"{"kind": "product", "ref": "q1", "household": "n1", "name": "Cam", "category": "fruit", "unit": "kg", "unit_weight_grams": 1000, "price_vnd": 20000}"#,
        r#"{"kind": "order", "household": "n1", "placed_at": "2021-03-02T00:00:00Z", "items": [{"product": "nowhere", "quantity": 1}]}"#,
        r#"{"kind": "views", "product": "q1", "date": "2021-13-01", "count": 5"#,
        r#"{"kind": "harvest", "ref": "x"}"#,
        "",
        r#"{"kind": "views", "product": "q1", "date": "2021-03-05", "count": -1}"#,
    ];
    let answer = import(&app, &admin, bad.join("\n").into_bytes()).await;
    let body = answer.assert_problem(422, "import_rejected");
    let lines: Vec<u64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 5, 6, 8], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("province_code"),
        "{body}"
    );
    assert_eq!(
        snapshot(&app, &admin).await,
        before,
        "a rejected import changes no report"
    );
    assert_eq!(
        app.get("/households?q=hộ%20mới", Some(&admin)).await.json()["total"],
        0
    );

    // Wrong content type, empty file, and non-admins.
    let wrong = app
        .client
        .post(app.url("/admin/imports"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body("a,b")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 415);
    import(&app, &admin, Vec::new())
        .await
        .assert_problem(422, "import_rejected");
    let farmer = app.signed_in("farmer").await;
    import(&app, &farmer, ndjson(&history()))
        .await
        .assert_problem(403, "forbidden");
}

/// An imported household's owner passes the rules `POST /households` applies: not a suspended
/// account, and not a farmer with a suspended household (an imported suspended household may
/// still name them). An email with a NUL names no account (PostgreSQL refuses NUL in text).
async fn an_import_refuses_the_owners_registering_would(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let mut farmers = Vec::new();
    for name in ["active", "stopped", "suspended"] {
        let email = format!("{name}@example.vn");
        let answer = app.register(&email, "farmer").await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        farmers.push((email, answer.json()["id"].as_str().unwrap().to_owned()));
    }
    let stopped = app.login(&farmers[1].0, PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let household = app.household(&stopped, "Hộ bị dừng", "24").await;
    app.patch(
        &format!("/households/{}", household["id"].as_str().unwrap()),
        Some(&admin),
        json!({"status": "suspended"}),
    )
    .await;
    let suspend = app
        .patch(
            &format!("/admin/users/{}", farmers[2].1),
            Some(&admin),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(suspend.status, 200, "{}", suspend.text);

    let line = |r: &str, email: &str, status: &str| {
        json!({"kind": "household", "ref": r, "name": format!("Hộ {r}"), "province_code": "24",
               "owner_email": email, "status": status})
        .to_string()
    };
    let lines = [
        line("h1", &farmers[0].0, "active"),
        line("h2", &farmers[1].0, "active"),
        line("h3", &farmers[2].0, "active"),
        line("h4", "active\u{0}@example.vn", "active"),
        line("h5", &farmers[1].0, "suspended"),
    ];
    let body = import(&app, &admin, lines.join("\n").into_bytes())
        .await
        .assert_problem(422, "import_rejected");
    let errors: Vec<(u64, String)> = (body["errors"].as_array().unwrap().iter())
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        [2, 3, 4],
        "{body}"
    );
    assert!(errors[0].1.contains("suspended household"), "{body}");
    assert!(errors[1].1.contains("suspended account"), "{body}");
    assert!(errors[2].1.contains("names no account"), "{body}");
    // Without them, the file goes in.
    let good = [lines[0].clone(), lines[4].clone()].join("\n");
    let answer = import(&app, &admin, good.into_bytes()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["households"], 2);
}

async fn rollups_agree_with_a_full_recomputation_after_a_random_mix(app: TestApp) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let admin = app.signed_in_admin().await;
    assert_eq!(import(&app, &admin, ndjson(&history())).await.status, 200);
    let farmer = app.signed_in("farmer").await;
    let household = app.household(&farmer, "Hộ ông Năm", "24").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut products = Vec::new();
    // Six: more rows than the few that an order's own rollups write, in the later import below.
    for i in 0..6 {
        let category = ["fruit", "seafood"][i % 2];
        let p = app
            .product(
                &farmer,
                &household,
                json!({"name": format!("Sản phẩm {i}"), "stock_quantity": 1000,
                                                          "category": category}),
            )
            .await;
        products.push(p["id"].as_str().unwrap().to_owned());
    }
    let tokens = buyers(&app, 4).await;
    let mut orders = Vec::new();
    for _ in 0..25 {
        let token = &tokens[rng.gen_range(0..tokens.len())];
        let a = &products[rng.gen_range(0..products.len())];
        let b = &products[rng.gen_range(0..products.len())];
        let mut items = vec![json!({"product_id": a, "quantity": rng.gen_range(1..20)})];
        if a != b {
            items.push(json!({"product_id": b, "quantity": rng.gen_range(1..5)}));
        }
        let country = ["VN", "VN", "JP", "DE"][rng.gen_range(0..4)];
        let answer = app
            .post(
                "/orders",
                Some(token),
                json!({"items": items, "shipping": shipping(country)}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        orders.push((
            token.clone(),
            answer.json()["id"].as_str().unwrap().to_owned(),
        ));
    }
    for (token, order) in orders.iter().filter(|_| rng.gen_bool(0.3)) {
        assert_eq!(
            app.post_empty(&format!("/orders/{order}/cancel"), Some(token))
                .await
                .status,
            200
        );
    }
    // A later import that adds history to stored products (and, on PostgreSQL, enough rows to go
    // through the bulk statements): their view totals grow by exactly the imported counts.
    let mut later = Vec::new();
    for (i, product) in products.iter().enumerate() {
        for day in 1..=3 {
            later.push(json!({"kind": "views", "product": product,
                              "date": format!("2026-0{day}-0{}", i + 1), "count": 10 + i}));
        }
        later.push(
            json!({"kind": "order", "household": household, "country_code": "JP",
                          "placed_at": format!("2026-02-0{}T10:00:00Z", i + 1),
                          "items": [{"product": product, "quantity": 2}]}),
        );
    }
    let later: String = later.iter().map(|l| format!("{l}\n")).collect();
    let views_of = || async {
        let page = app
            .get(
                &format!("/products?household_id={household}&status=active"),
                Some(&admin),
            )
            .await
            .json();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_owned(),
                    p["views"].as_i64().unwrap(),
                )
            })
            .collect::<BTreeMap<String, i64>>()
    };
    let views_before = views_of().await;
    let answer = import(&app, &admin, later.into_bytes()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let views_after = views_of().await;
    for (i, product) in products.iter().enumerate() {
        assert_eq!(
            views_after[product] - views_before[product],
            3 * (10 + i as i64),
            "imported views of a stored product"
        );
    }
    for product in &products {
        for _ in 0..rng.gen_range(1..4) {
            app.get(&format!("/products/{product}"), None).await;
        }
    }
    app.delete(&format!("/products/{}", products[3]), Some(&farmer))
        .await;
    let households = app
        .get("/households?province_code=01", Some(&admin))
        .await
        .json();
    let some = households["items"][0]["id"].as_str().unwrap();
    app.patch(
        &format!("/households/{some}"),
        Some(&admin),
        json!({"status": "suspended"}),
    )
    .await;
    let views_written = || async {
        let shown: i64 = views_of().await.values().sum();
        let report = app
            .get(
                "/reports/uptake?from=2026-01-01&to=2030-12-31&compare=none",
                Some(&admin),
            )
            .await
            .json();
        report["metrics"]["product_views"]["current"]
            .as_i64()
            .unwrap()
            >= shown - 10
            && shown > 0
    };
    eventually("views are flushed", views_written).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    let before = all_reports(&app, &admin).await;
    app.assert_rollups_exact();
    let rebuild = Command::new(binary())
        .args(["rebuild-rollups", "--database-url", &app.database.url])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(rebuild.status.success());
    assert_eq!(
        all_reports(&app, &admin).await,
        before,
        "reports after a full rebuild are the same"
    );
}

async fn reports_answer_json_csv_and_svg_to_admins_only(app: TestApp) {
    let admin = app.signed_in_admin().await;
    assert_eq!(import(&app, &admin, ndjson(&history())).await.status, 200);
    let csv = app
        .get(
            "/reports/uptake?from=2021-01-01&to=2021-06-30&format=csv",
            Some(&admin),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type().starts_with("text/csv"));
    let text = csv.text.trim_start_matches('\u{feff}');
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "metric,current,previous,change,growth_pct");
    assert_eq!(lines.len(), 13);
    for metric in [
        "households_joined,",
        "shipping_fees_vnd,",
        "commission_vnd,",
        "payouts_vnd,",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(metric)), "{metric}");
    }
    let accepted = app
        .client
        .get(
            app.url("/reports/uptake/breakdown?from=2021-01-01&to=2021-06-30&by=province&map=2008"),
        )
        .bearer_auth(&admin)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(
        accepted.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = accepted.text().await.unwrap();
    assert_eq!(
        body.trim_start_matches('\u{feff}').lines().count(),
        64,
        "a header and 63 provinces"
    );
    assert!(body.contains("Bắc Giang"));
    let products_csv = app
        .get(
            "/reports/products?from=2021-01-01&to=2021-06-30&format=csv",
            Some(&admin),
        )
        .await;
    assert!(products_csv.text.contains("Vải thiều Lục Ngạn"));

    let chart = app
        .get(
            "/reports/uptake/chart.svg?from=2021-01-01&to=2021-06-30&metric=volume_kg",
            Some(&admin),
        )
        .await;
    assert_eq!(chart.status, 200);
    assert!(chart.content_type().starts_with("image/svg+xml"));
    assert!(
        chart.text.contains("<svg")
            && chart.text.contains("Sản lượng (kg)")
            && chart.text.contains("Tháng")
    );
    assert!(chart.text.contains("2021-06"));

    let farmer = app.signed_in("farmer").await;
    for path in [
        "/reports/uptake?from=2021-01-01&to=2021-06-30",
        "/reports/products?from=2021-01-01&to=2021-06-30",
        "/reports/uptake/breakdown?from=2021-01-01&to=2021-06-30&by=month",
        "/reports/uptake/chart.svg?from=2021-01-01&to=2021-06-30",
    ] {
        app.get(path, Some(&farmer))
            .await
            .assert_problem(403, "forbidden");
        app.get(path, None)
            .await
            .assert_problem(401, "unauthenticated");
    }
    for query in [
        "from=2021-13-01&to=2021-06-30",
        "from=2021-07-01&to=2021-06-30",
        "to=2021-06-30",
        "from=2021-01-01&to=2021-06-30&compare=last_week",
        "from=2021-01-01&to=2021-06-30&format=xml",
        "from=2000-01-01&to=2021-06-30",
    ] {
        app.get(&format!("/reports/uptake?{query}"), Some(&admin))
            .await
            .assert_problem(422, "validation_failed");
    }
    // Years of other than four digits, whose year earlier, period before or month after once
    // left chrono's range (a panic) or PostgreSQL's (a 500).
    for path in [
        "/reports/uptake?from=-262143-06-01&to=-262143-06-30",
        "/reports/uptake?compare=previous_period&from=-262143-01-02&to=-262143-01-09",
        "/reports/uptake/chart.svg?compare=none&from=%2B262142-12-01&to=%2B262142-12-31",
        "/reports/uptake/breakdown?by=month&compare=none&from=%2B262142-12-01&to=%2B262142-12-31",
        "/reports/uptake?compare=none&from=-5000-01-01&to=-5000-01-31",
    ] {
        app.get(path, Some(&admin))
            .await
            .assert_problem(422, "validation_failed");
    }
    for query in ["by=village", "sort=value"] {
        let answer = app
            .get(
                &format!("/reports/uptake/breakdown?from=2021-01-01&to=2021-06-30&{query}"),
                Some(&admin),
            )
            .await;
        if query.starts_with("by") {
            answer.assert_problem(422, "validation_failed");
        } else {
            answer.assert_problem(422, "validation_failed"); // `by` is required
        }
    }
    for query in ["sort=price", "limit=0", "limit=501", "category=meat"] {
        app.get(
            &format!("/reports/products?from=2021-01-01&to=2021-06-30&{query}"),
            Some(&admin),
        )
        .await
        .assert_problem(422, "validation_failed");
    }
    app.get(
        "/reports/products?from=2021-01-01&to=2021-06-30&limit=ten",
        Some(&admin),
    )
    .await
    .assert_problem(400, "malformed_request");
    app.get(
        "/reports/uptake/chart.svg?from=2021-01-01&to=2021-06-30&metric=happiness",
        Some(&admin),
    )
    .await
    .assert_problem(422, "validation_failed");
}

/// `nongsan demo` reproduces the seed's figures (SQLite: the laptop default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reproduces_the_seed_figures() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let demo = Command::new(binary())
        .args(["demo", "--database-url", &app.database.url])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    // The bulk load folds its write-ahead log into the database instead of leaving it behind.
    let wal = std::fs::metadata(format!("{}-wal", app.database.url)).map_or(0, |m| m.len());
    assert!(wal < 1 << 20, "the demo left a {wal}-byte write-ahead log");
    let login = app
        .login(
            nongsan::demo::DEMO_ADMIN_EMAIL,
            nongsan::demo::DEMO_PASSWORD,
        )
        .await;
    let admin = login.json()["token"].as_str().unwrap().to_owned();
    let uptake = app
        .get(
            "/reports/uptake?from=2021-01-01&to=2021-06-30",
            Some(&admin),
        )
        .await
        .json();
    let m = &uptake["metrics"];
    assert_eq!(
        (
            m["households_joined"]["current"].clone(),
            m["households_joined"]["previous"].clone()
        ),
        (json!(7987), json!(2745))
    );
    assert_eq!(m["households_joined"]["growth_pct"], 191.0);
    assert_eq!(
        (
            m["products_listed"]["current"].clone(),
            m["products_listed"]["previous"].clone()
        ),
        (json!(14594), json!(3966))
    );
    assert_eq!(m["products_listed"]["growth_pct"], 268.0);
    let value = m["transaction_value_vnd"]["current"].as_i64().unwrap();
    let before = m["transaction_value_vnd"]["previous"].as_i64().unwrap();
    assert!(
        (943_000_000_000..=945_000_000_000).contains(&value),
        "{value}"
    );
    assert!(
        (240_000_000_000..=240_400_000_000).contains(&before),
        "{before}"
    );
    assert_eq!(m["transaction_value_vnd"]["growth_pct"], 293.0);

    let lychee = app
        .get("/reports/products?from=2021-01-01&to=2021-06-30&q=v%E1%BA%A3i%20thi%E1%BB%81u%20b%E1%BA%AFc%20giang", Some(&admin))
        .await
        .json();
    let totals = &lychee["totals"];
    let tonnes = totals["volume_kg"].as_f64().unwrap() / 1000.0;
    assert!((8200.0..=8360.0).contains(&tonnes), "{tonnes}");
    let value = totals["value_vnd"].as_i64().unwrap();
    assert!(
        (245_000_000_000..=255_000_000_000).contains(&value),
        "{value}"
    );
    let views = totals["views"].as_i64().unwrap();
    assert!((9_500_000..=10_500_000).contains(&views), "{views}");
    // The lychee province is now part of Bắc Ninh: the same totals read as current Bắc Ninh (24)
    // or as former Bắc Giang (24 on the 2008 map).
    let mut by_map = Vec::new();
    for filter in ["&province_code=24", "&province_code=24&map=2008"] {
        let report = app
            .get(
                &format!("/reports/products?from=2021-01-01&to=2021-06-30&q=v%E1%BA%A3i%20thi%E1%BB%81u{filter}"),
                Some(&admin),
            )
            .await
            .json();
        let tonnes = report["totals"]["volume_kg"].as_f64().unwrap() / 1000.0;
        assert!((8200.0..=8360.0).contains(&tonnes), "{filter}: {tonnes}");
        by_map.push(report["totals"].clone());
    }
    assert_eq!(
        by_map[0], by_map[1],
        "current Bắc Ninh and former Bắc Giang"
    );
    let exported = totals["export_volume_kg"].as_f64().unwrap() / 1000.0;
    assert!((135.0..=145.0).contains(&exported), "{exported}");
    let countries: BTreeMap<String, f64> =
        serde_json::from_value(totals["export_by_country"].clone()).unwrap();
    assert!(
        countries.contains_key("JP")
            && countries.contains_key("AU")
            && countries.contains_key("DE"),
        "{countries:?}"
    );
    // The demo's farmers and buyers can sign in with the demo password.
    assert_eq!(
        app.login("nongdan0@demo.nongsan.vn", nongsan::demo::DEMO_PASSWORD)
            .await
            .status,
        200
    );
    assert_eq!(
        app.login("khachhang0@demo.nongsan.vn", nongsan::demo::DEMO_PASSWORD)
            .await
            .status,
        200
    );

    // Today's money: the buyer's checkouts across three farms, a paid transfer and a short one,
    // deliveries and one payout batch, in books that balance.
    let buyer = app
        .login(
            nongsan::demo::DEMO_BUYER_EMAIL,
            nongsan::demo::DEMO_PASSWORD,
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let orders = app.get("/orders?per_page=100", Some(&buyer)).await.json();
    let checkouts: BTreeSet<&str> = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["checkout_id"].as_str())
        .collect();
    assert_eq!(checkouts.len(), 3, "{orders}");
    let unmatched = app
        .get("/admin/payments/unmatched", Some(&admin))
        .await
        .json();
    assert_eq!(unmatched["items"][0]["outcome"], "short", "{unmatched}");
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    let money = app
        .get(
            &format!("/reports/uptake?from={today}&to={today}&compare=none"),
            Some(&admin),
        )
        .await
        .json();
    for metric in ["shipping_fees_vnd", "commission_vnd", "payouts_vnd"] {
        assert!(
            money["metrics"][metric]["current"].as_i64().unwrap() > 0,
            "{metric}: {money}"
        );
    }
    app.assert_ledger_balances();
}
