//! Report rules: admins only; periods and comparisons; metrics from the rollups.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::metric::{Metric, Unit, Value};
use super::period::{Compare, MAX_PERIOD_DAYS, Period};
use super::repo::{self, Grouping, ProductReportFilter};
use super::rollups::{CounterOverflow, Counts};
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::products::model::CATEGORIES;
use crate::search::optional_query_words;
use crate::time::parse_date;
use crate::validate::Problems;

/// Every query parameter any report takes; each report reads the ones it needs.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub compare: Option<String>,
    pub format: Option<String>,
    pub by: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub q: Option<String>,
    pub category: Option<String>,
    pub province_code: Option<String>,
    pub metric: Option<String>,
}

/// The nine metrics, in the order the API lists them.
pub const METRIC_NAMES: [&str; 9] = [
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

/// The raw numbers behind the metrics of one period (weights in grams).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Raw {
    pub values: [i64; 9],
}

impl Raw {
    /// From a group's counters: flows over the period, `*_active` already summed to its end.
    pub fn from_counts(c: &Counts) -> Raw {
        Raw {
            values: [
                c.households_joined,
                c.households_active,
                c.products_listed,
                c.products_active,
                c.orders,
                c.value_vnd,
                c.weight_grams,
                c.export_weight_grams,
                c.views,
            ],
        }
    }

    /// From the platform's daily rows (oldest first).
    pub fn from_days(
        rows: &[(chrono::NaiveDate, Counts)],
        period: Period,
    ) -> Result<Raw, CounterOverflow> {
        let mut counts = Counts::default();
        for (day, c) in rows.iter().take_while(|(day, _)| *day <= period.to) {
            if *day >= period.from {
                counts.checked_add(c)?;
            } else {
                // Before the period only the running totals count.
                counts.checked_add(&Counts {
                    households_active: c.households_active,
                    products_active: c.products_active,
                    ..Counts::default()
                })?;
            }
        }
        Ok(Raw::from_counts(&counts))
    }
}

fn unit_of(index: usize) -> Unit {
    if METRIC_NAMES[index].ends_with("_kg") {
        Unit::Grams
    } else {
        Unit::Count
    }
}

/// The metrics object: every metric, this period against the compared one, in API order.
#[derive(Debug, Clone)]
pub struct Metrics(pub Vec<(&'static str, Metric)>);

impl Metrics {
    pub fn new(current: Raw, previous: Option<Raw>) -> Metrics {
        Metrics(
            METRIC_NAMES
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    (
                        *name,
                        Metric::new(current.values[i], previous.map(|p| p.values[i]), unit_of(i)),
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductRow {
    pub product_id: String,
    pub name: String,
    pub household_id: String,
    pub orders: i64,
    pub value_vnd: i64,
    pub volume_kg: f64,
    pub views: i64,
    pub export_volume_kg: f64,
    pub export_by_country: BTreeMap<String, f64>,
    pub growth: ProductGrowth,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ProductTotals {
    pub products: i64,
    pub orders: i64,
    pub value_vnd: i64,
    pub volume_kg: f64,
    pub views: i64,
    pub export_volume_kg: f64,
    pub export_by_country: BTreeMap<String, f64>,
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

pub fn require_admin(caller: &CurrentUser) -> AppResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("reports are for admins"))
    }
}

/// The period and comparison of a report query, with every problem named.
fn parse_period(query: &ReportQuery, problems: &mut Problems) -> Option<(Period, Compare)> {
    let mut day = |field: &str, value: Option<&str>| match value {
        None => {
            problems.add(field, "is required, as YYYY-MM-DD");
            None
        }
        Some(text) => {
            let parsed = parse_date(text);
            if parsed.is_none() {
                problems.add(field, "must be a date YYYY-MM-DD");
            }
            parsed
        }
    };
    let from = day("from", query.from.as_deref());
    let to = day("to", query.to.as_deref());
    let compare = Compare::parse(query.compare.as_deref());
    if compare.is_none() {
        problems.add("compare", "must be previous_year, previous_period or none");
    }
    let (from, to, compare) = (from?, to?, compare?);
    if from > to {
        problems.add("to", "must not be before from");
        return None;
    }
    let period = Period { from, to };
    if period.days() > MAX_PERIOD_DAYS {
        problems.add(
            "to",
            format!("a report covers at most {MAX_PERIOD_DAYS} days"),
        );
        return None;
    }
    if period.compared(compare).is_none() && compare != Compare::None {
        problems.add("from", "too early to compare with the period before it");
        return None;
    }
    Some((period, compare))
}

fn checked(query: &ReportQuery, mut problems: Problems) -> AppResult<(Period, Compare)> {
    let parsed = parse_period(query, &mut problems);
    problems.finish()?;
    parsed.ok_or_else(|| AppError::invalid_field("from", "invalid period"))
}

pub async fn uptake(
    ctx: &Context,
    caller: &CurrentUser,
    query: &ReportQuery,
) -> AppResult<UptakeReport> {
    require_admin(caller)?;
    let (period, compare) = checked(query, Problems::new())?;
    let compared_to = period.compared(compare);
    let (current, previous) = ctx
        .db
        .run(move |conn| Ok(repo::period_totals(conn, period, compared_to)?))
        .await?;
    Ok(UptakeReport {
        timezone: ctx.settings.reporting.timezone.clone(),
        period,
        compared_to,
        metrics: Metrics::new(
            Raw::from_counts(&current),
            previous.as_ref().map(Raw::from_counts),
        ),
    })
}

pub fn category_label(category: &str) -> &'static str {
    match category {
        "fruit" => "Trái cây",
        "vegetable" => "Rau củ",
        "rice_grain" => "Lúa gạo, ngũ cốc",
        "tea_coffee" => "Chè, cà phê",
        "seafood" => "Thủy sản",
        "livestock" => "Chăn nuôi",
        "processed" => "Sản phẩm chế biến",
        _ => "Khác",
    }
}

pub async fn breakdown(
    ctx: &Context,
    caller: &CurrentUser,
    query: &ReportQuery,
) -> AppResult<BreakdownReport> {
    require_admin(caller)?;
    let mut problems = Problems::new();
    let by = match query.by.as_deref() {
        Some(by @ ("province" | "category" | "month" | "household")) => by.to_owned(),
        Some(_) => {
            problems.add("by", "must be province, category, month or household");
            String::new()
        }
        None => {
            problems.add("by", "is required: province, category, month or household");
            String::new()
        }
    };
    let limit = query
        .limit
        .unwrap_or(if by == "household" { 100 } else { 20_000 });
    if !(1..=20_000).contains(&limit) {
        problems.add("limit", "must be between 1 and 20000");
    }
    let (period, compare) = checked(query, problems)?;
    let compared_to = period.compared(compare);
    let grouping = match by.as_str() {
        "province" => Some(Grouping::Province),
        "category" => Some(Grouping::Category),
        "household" => Some(Grouping::Household),
        _ => None,
    };
    let rows = ctx
        .db
        .run(move |conn| {
            let Some(grouping) = grouping else {
                // Months come from the platform's daily rows.
                let days = repo::day_totals(conn, period.to)?;
                return Ok(period
                    .months()
                    .into_iter()
                    .map(|(key, part)| {
                        let previous = period
                            .shift_like(part, compare)
                            .map(|p| Raw::from_days(&days, p))
                            .transpose()?;
                        Ok(BreakdownRow {
                            label: format!("Tháng {}/{}", &key[5..], &key[..4]),
                            key,
                            metrics: Metrics::new(Raw::from_days(&days, part)?, previous),
                        })
                    })
                    .collect::<Result<_, CounterOverflow>>()?);
            };
            let current = repo::grouped(conn, grouping, period)?;
            let previous = match compared_to {
                Some(c) => Some(repo::grouped(conn, grouping, c)?),
                None => None,
            };
            let keys_and_labels: Vec<(String, String)> = match grouping {
                Grouping::Province => crate::provinces::all(conn)?
                    .into_iter()
                    .map(|p| (p.code, p.name))
                    .collect(),
                Grouping::Category => CATEGORIES
                    .iter()
                    .map(|c| ((*c).to_owned(), category_label(c).to_owned()))
                    .collect(),
                Grouping::Household => {
                    let mut ids: Vec<String> = current
                        .keys()
                        .chain(previous.iter().flat_map(|p| p.keys()))
                        .cloned()
                        .collect();
                    ids.sort();
                    ids.dedup();
                    let names = repo::household_names(conn, &ids)?;
                    ids.into_iter()
                        .map(|id| {
                            let label = names.get(&id).cloned().unwrap_or_default();
                            (id, label)
                        })
                        .collect()
                }
            };
            let empty = Counts::default();
            let mut rows: Vec<BreakdownRow> = keys_and_labels
                .into_iter()
                .map(|(key, label)| {
                    let now = Raw::from_counts(current.get(&key).unwrap_or(&empty));
                    let before = previous
                        .as_ref()
                        .map(|p| Raw::from_counts(p.get(&key).unwrap_or(&empty)));
                    BreakdownRow {
                        key,
                        label,
                        metrics: Metrics::new(now, before),
                    }
                })
                .collect();
            if grouping == Grouping::Household {
                // The busiest households first.
                let value =
                    |row: &BreakdownRow| row.metrics.get("transaction_value_vnd").current.as_f64();
                rows.sort_by(|a, b| {
                    value(b)
                        .total_cmp(&value(a))
                        .then_with(|| a.key.cmp(&b.key))
                });
            }
            rows.truncate(limit as usize);
            Ok(rows)
        })
        .await?;
    Ok(BreakdownReport {
        by,
        timezone: ctx.settings.reporting.timezone.clone(),
        period,
        compared_to,
        rows,
    })
}

fn kilograms(grams: i64) -> f64 {
    grams as f64 / 1000.0
}

pub async fn products(
    ctx: &Context,
    caller: &CurrentUser,
    query: &ReportQuery,
) -> AppResult<ProductReport> {
    require_admin(caller)?;
    let mut problems = Problems::new();
    let sort = match query.sort.as_deref() {
        None | Some("value") => "value",
        Some("volume") => "volume",
        Some("views") => "views",
        Some(_) => {
            problems.add("sort", "must be value, volume or views");
            "value"
        }
    };
    let limit = query.limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        problems.add("limit", "must be between 1 and 500");
    }
    if let Some(category) = &query.category
        && !CATEGORIES.contains(&category.as_str())
    {
        problems.add(
            "category",
            format!("must be one of {}", CATEGORIES.join(", ")),
        );
    }
    if let Some(code) = &query.province_code
        && !crate::provinces::looks_like_code(code)
    {
        problems.add("province_code", "must be a two-digit province code");
    }
    let words = problems
        .check(optional_query_words(query.q.as_deref()))
        .unwrap_or_default();
    let (period, compare) = checked(query, problems)?;
    let compared_to = period.compared(compare);
    let filter = ProductReportFilter {
        words,
        category: query.category.clone(),
        origin_province_code: query.province_code.clone(),
    };
    let (activity, views, exports, previous) = ctx
        .db
        .run(move |conn| {
            let activity = repo::product_activity(conn, &filter, period)?;
            let views = repo::product_views(conn, &filter, period)?;
            let exports = repo::product_exports(conn, &filter, period)?;
            let previous: Option<HashMap<String, (i64, i64)>> = match compared_to {
                Some(c) => Some(
                    repo::product_activity(conn, &filter, c)?
                        .into_iter()
                        .map(|a| (a.product_id, (a.value_vnd, a.weight_grams)))
                        .collect(),
                ),
                None => None,
            };
            Ok((activity, views, exports, previous))
        })
        .await?;

    let mut totals = ProductTotals::default();
    let mut total_grams = 0i64;
    let mut total_export_grams = 0i64;
    let mut export_grams_by_country: BTreeMap<String, i64> = BTreeMap::new();
    let mut rows: Vec<ProductRow> = activity
        .into_iter()
        .map(|a| {
            let views = views.get(&a.product_id).copied().unwrap_or(0);
            let mut by_country = BTreeMap::new();
            for (country, grams) in exports.get(&a.product_id).into_iter().flatten() {
                *export_grams_by_country.entry(country.clone()).or_default() += grams;
                by_country.insert(country.clone(), kilograms(*grams));
            }
            let before = previous
                .as_ref()
                .map(|p| p.get(&a.product_id).copied().unwrap_or((0, 0)));
            totals.products += 1;
            totals.orders += a.orders;
            totals.value_vnd += a.value_vnd;
            totals.views += views;
            total_grams += a.weight_grams;
            total_export_grams += a.export_weight_grams;
            ProductRow {
                growth: ProductGrowth {
                    value_vnd: Metric::new(a.value_vnd, before.map(|b| b.0), Unit::Count),
                    volume_kg: Metric::new(a.weight_grams, before.map(|b| b.1), Unit::Grams),
                },
                product_id: a.product_id,
                name: a.name,
                household_id: a.household_id,
                orders: a.orders,
                value_vnd: a.value_vnd,
                volume_kg: kilograms(a.weight_grams),
                views,
                export_volume_kg: kilograms(a.export_weight_grams),
                export_by_country: by_country,
            }
        })
        .collect();
    totals.volume_kg = kilograms(total_grams);
    totals.export_volume_kg = kilograms(total_export_grams);
    totals.export_by_country = export_grams_by_country
        .into_iter()
        .map(|(country, grams)| (country, kilograms(grams)))
        .collect();
    let key = |row: &ProductRow| match sort {
        "volume" => row.volume_kg,
        "views" => row.views as f64,
        _ => row.value_vnd as f64,
    };
    rows.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.product_id.cmp(&b.product_id))
    });
    rows.truncate(limit.clamp(1, 500) as usize);
    Ok(ProductReport {
        timezone: ctx.settings.reporting.timezone.clone(),
        period,
        compared_to,
        rows,
        totals,
    })
}

pub async fn chart_data(
    ctx: &Context,
    caller: &CurrentUser,
    query: &ReportQuery,
) -> AppResult<ChartData> {
    require_admin(caller)?;
    let mut problems = Problems::new();
    let metric = match query.metric.as_deref() {
        None => Some("transaction_value_vnd"),
        Some(name) => METRIC_NAMES.iter().copied().find(|m| *m == name),
    };
    if metric.is_none() {
        problems.add(
            "metric",
            format!("must be one of {}", METRIC_NAMES.join(", ")),
        );
    }
    let (period, compare) = checked(query, problems)?;
    let metric = metric.unwrap_or("transaction_value_vnd");
    let index = METRIC_NAMES.iter().position(|m| *m == metric).unwrap_or(5);
    let days = ctx
        .db
        .run(move |conn| Ok(repo::day_totals(conn, period.to)?))
        .await?;
    let shown = |part: Period| -> Result<f64, CounterOverflow> {
        let raw = Raw::from_days(&days, part)?;
        Ok(Value::from_raw(raw.values[index], unit_of(index)).as_f64())
    };
    let months = period.months();
    let current = months
        .iter()
        .map(|(_, part)| shown(*part))
        .collect::<Result<_, _>>()?;
    let previous = match compare {
        Compare::None => None,
        _ => Some(
            months
                .iter()
                .filter_map(|(_, part)| period.shift_like(*part, compare))
                .map(shown)
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(ChartData {
        metric,
        period,
        compared_to: period.compared(compare),
        months: months.into_iter().map(|(key, _)| key).collect(),
        current,
        previous,
    })
}
