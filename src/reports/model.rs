//! What a report is asked for and what it answers: periods, metrics and rows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::metric::Metric;
use super::period::Period;
use crate::provinces::ProvinceMap;
use crate::stats::{self, Counts};

/// Every query parameter any report takes, as the caller gives them; each report reads the ones it
/// needs (`format` is read by the route: the answer's format is the caller's business).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportRequest {
    /// First day of the period, `YYYY-MM-DD` (Vietnam time); required.
    pub from: Option<String>,
    /// Last day of the period, included; required.
    pub to: Option<String>,
    /// `previous_year` (default), `previous_period` or `none`.
    pub compare: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// Breakdown: `province`, `category`, `month` or `household`.
    pub by: Option<String>,
    /// Products report: `value` (default), `volume` or `views`.
    pub sort: Option<String>,
    /// Rows: of the products report 1 to 500 (default 20); of a breakdown 1 to 20,000 (by
    /// household default 100).
    pub limit: Option<i64>,
    /// Products report: words that must all occur in the product's name or description.
    pub q: Option<String>,
    /// Products report: only this category.
    pub category: Option<String>,
    /// Products report: only products from this province (origin).
    pub province_code: Option<String>,
    /// The map of provinces: `current` (default) or `2008`; for the breakdown by province and the
    /// products report's `province_code`.
    pub map: Option<String>,
    /// Chart: the metric drawn (default `transaction_value_vnd`).
    pub metric: Option<String>,
}

/// The metrics object: every metric, this period against the compared one, in API order.
#[derive(Debug, Clone)]
pub struct Metrics(pub Vec<(&'static str, Metric)>);

impl Metrics {
    pub fn new(current: Counts, previous: Option<Counts>) -> Metrics {
        Metrics(
            stats::Metric::ALL
                .into_iter()
                .map(|m| {
                    (
                        m.name(),
                        Metric::new(current[m], previous.map(|p| p[m]), m.unit()),
                    )
                })
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> &Metric {
        &self
            .0
            .iter()
            .find(|(n, _)| *n == name)
            .expect("every metric is present")
            .1
    }
}

impl Serialize for Metrics {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, metric) in &self.0 {
            map.serialize_entry(name, metric)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UptakeReport {
    pub timezone: String,
    pub period: Period,
    pub compared_to: Option<Period>,
    #[schema(value_type = super::metric::MetricsDoc)]
    pub metrics: Metrics,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreakdownRow {
    pub key: String,
    pub label: String,
    #[schema(value_type = super::metric::MetricsDoc)]
    pub metrics: Metrics,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreakdownReport {
    pub by: String,
    /// By province: the map its keys are on (`current` or `2008`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<ProvinceMap>,
    pub timezone: String,
    pub period: Period,
    pub compared_to: Option<Period>,
    pub rows: Vec<BreakdownRow>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductGrowth {
    #[schema(value_type = super::metric::MetricDoc)]
    pub value_vnd: Metric,
    #[schema(value_type = super::metric::MetricDoc)]
    pub volume_kg: Metric,
}

/// What one product, or all of a report's products, did in the period.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ProductAmounts {
    pub orders: i64,
    pub value_vnd: i64,
    pub volume_kg: f64,
    pub views: i64,
    pub export_volume_kg: f64,
    pub export_by_country: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductRow {
    pub product_id: String,
    pub name: String,
    pub household_id: String,
    #[serde(flatten)]
    pub amounts: ProductAmounts,
    pub growth: ProductGrowth,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ProductTotals {
    pub products: i64,
    #[serde(flatten)]
    pub amounts: ProductAmounts,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductReport {
    pub timezone: String,
    pub period: Period,
    pub compared_to: Option<Period>,
    pub rows: Vec<ProductRow>,
    pub totals: ProductTotals,
}

/// A chart's data: one metric month by month, this period and the compared one.
#[derive(Debug, Clone)]
pub struct ChartData {
    pub metric: &'static str,
    pub period: Period,
    pub compared_to: Option<Period>,
    pub months: Vec<String>,
    pub current: Vec<f64>,
    pub previous: Option<Vec<f64>>,
}
