//! Reports as CSV: UTF-8 with a byte-order mark (so spreadsheets read Vietnamese correctly), a
//! header row, then one row per metric or per report row.

use super::metric::{Metric, Value};
use super::service::{BreakdownReport, METRIC_NAMES, ProductReport, UptakeReport};

fn value(v: Option<Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::Count(n)) => n.to_string(),
        Some(Value::Kilograms(kg)) => format!("{kg:.3}"),
    }
}

fn growth(m: &Metric) -> String {
    m.growth_pct.map(|g| format!("{g:.1}")).unwrap_or_default()
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, String> {
    let body = writer.into_inner().map_err(|e| e.to_string())?;
    let mut out = "\u{feff}".as_bytes().to_vec();
    out.extend(body);
    Ok(out)
}

pub fn uptake(report: &UptakeReport) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    w.write_record(["metric", "current", "previous", "change", "growth_pct"])
        .map_err(e)?;
    for name in METRIC_NAMES {
        let m = report.metrics.get(name);
        w.write_record([
            name.to_owned(),
            value(Some(m.current)),
            value(m.previous),
            value(m.change),
            growth(m),
        ])
        .map_err(e)?;
    }
    finish(w)
}

pub fn breakdown(report: &BreakdownReport) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    let mut header = vec!["key".to_owned(), "label".to_owned()];
    for name in METRIC_NAMES {
        header.extend([
            name.to_owned(),
            format!("{name}_previous"),
            format!("{name}_growth_pct"),
        ]);
    }
    w.write_record(&header).map_err(e)?;
    for row in &report.rows {
        let mut record = vec![row.key.clone(), row.label.clone()];
        for name in METRIC_NAMES {
            let m = row.metrics.get(name);
            record.extend([value(Some(m.current)), value(m.previous), growth(m)]);
        }
        w.write_record(&record).map_err(e)?;
    }
    finish(w)
}

pub fn products(report: &ProductReport) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    w.write_record([
        "product_id",
        "name",
        "household_id",
        "orders",
        "value_vnd",
        "volume_kg",
        "views",
        "export_volume_kg",
        "export_by_country",
        "value_vnd_previous",
        "value_vnd_growth_pct",
        "volume_kg_previous",
        "volume_kg_growth_pct",
    ])
    .map_err(e)?;
    let countries = |map: &std::collections::BTreeMap<String, f64>| {
        map.iter()
            .map(|(c, kg)| format!("{c}:{kg:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for row in &report.rows {
        w.write_record([
            row.product_id.clone(),
            row.name.clone(),
            row.household_id.clone(),
            row.orders.to_string(),
            row.value_vnd.to_string(),
            format!("{:.3}", row.volume_kg),
            row.views.to_string(),
            format!("{:.3}", row.export_volume_kg),
            countries(&row.export_by_country),
            value(row.growth.value_vnd.previous),
            growth(&row.growth.value_vnd),
            value(row.growth.volume_kg.previous),
            growth(&row.growth.volume_kg),
        ])
        .map_err(e)?;
    }
    let t = &report.totals;
    w.write_record([
        "TOTAL".to_owned(),
        format!("{} products", t.products),
        String::new(),
        t.orders.to_string(),
        t.value_vnd.to_string(),
        format!("{:.3}", t.volume_kg),
        t.views.to_string(),
        format!("{:.3}", t.export_volume_kg),
        countries(&t.export_by_country),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ])
    .map_err(e)?;
    finish(w)
}
