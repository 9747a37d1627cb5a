//! Report rules: admins only; periods and comparisons; metrics from the rollups.

use std::collections::{BTreeMap, HashMap};

use super::metric::{Metric, Unit, Value};
use super::model::{
    BreakdownReport, BreakdownRow, ChartData, Metrics, ProductAmounts, ProductGrowth,
    ProductReport, ProductRow, ProductTotals, ReportRequest, UptakeReport,
};
use super::period::{Compare, MAX_PERIOD_DAYS, Period};
use super::repo;
use crate::auth::CurrentUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::products::model::CATEGORIES;
use crate::provinces::ProvinceMap;
use crate::provinces::query_map;
use crate::search::{like_pattern, optional_query_words};
use crate::stats::read::{self, Grouping, ProductReportFilter};
use crate::stats::{self, CounterOverflow, Counts};
use crate::validate::{self, Problems};

/// The metrics' API names, in the order the API lists them.
pub fn metric_names() -> impl Iterator<Item = &'static str> {
    stats::Metric::ALL.into_iter().map(stats::Metric::name)
}

/// A period's figures from the platform's daily rows (oldest first): flows over its days, the
/// running totals over every day up to its end.
pub fn from_days(
    rows: &[(chrono::NaiveDate, Counts)],
    period: Period,
) -> Result<Counts, CounterOverflow> {
    let mut counts = Counts::default();
    for (day, c) in rows.iter().take_while(|(day, _)| *day <= period.to) {
        if *day >= period.from {
            counts.checked_add(c)?;
        } else {
            // Before the period only the running totals count.
            counts.checked_add(&c.totals())?;
        }
    }
    Ok(counts)
}

pub fn require_admin(caller: &CurrentUser) -> AppResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("reports are for admins"))
    }
}

/// The period and comparison of a report query, with every problem named.
fn parse_period(query: &ReportRequest, problems: &mut Problems) -> Option<(Period, Compare)> {
    let from = validate::query_day(problems, "from", query.from.as_deref(), true);
    let to = validate::query_day(problems, "to", query.to.as_deref(), true);
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

fn checked(query: &ReportRequest, mut problems: Problems) -> AppResult<(Period, Compare)> {
    let parsed = parse_period(query, &mut problems);
    problems.finish()?;
    parsed.ok_or_else(|| AppError::invalid_field("from", "invalid period"))
}

pub async fn uptake(
    ctx: &Context,
    caller: &CurrentUser,
    query: &ReportRequest,
) -> AppResult<UptakeReport> {
    require_admin(caller)?;
    let (period, compare) = checked(query, Problems::new())?;
    let compared_to = period.compared(compare);
    let (current, previous) = ctx
        .db
        .run(move |conn| {
            Ok(read::period_totals(
                conn,
                period.into(),
                compared_to.map(Into::into),
            )?)
        })
        .await?;
    Ok(UptakeReport {
        timezone: ctx.settings.reporting.timezone.clone(),
        period,
        compared_to,
        metrics: Metrics::new(current, previous),
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
    query: &ReportRequest,
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
    let map = query_map(&mut problems, query.map.as_deref());
    let (period, compare) = checked(query, problems)?;
    let compared_to = period.compared(compare);
    let grouping = match by.as_str() {
        "province" if map == ProvinceMap::Current => Some(Grouping::CurrentProvince),
        "province" => Some(Grouping::Province),
        "category" => Some(Grouping::Category),
        "household" => Some(Grouping::Household),
        _ => None,
    };
    let admin_map = ctx.map.clone();
    let rows = ctx
        .db
        .run(move |conn| {
            let Some(grouping) = grouping else {
                // Months come from the platform's daily rows.
                let days = read::day_totals(conn, period.to)?;
                return Ok(period
                    .months()
                    .into_iter()
                    .map(|(key, part)| {
                        let previous = period
                            .shift_like(part, compare)
                            .map(|p| from_days(&days, p))
                            .transpose()?;
                        Ok(BreakdownRow {
                            label: format!("Tháng {}/{}", &key[5..], &key[..4]),
                            key,
                            metrics: Metrics::new(from_days(&days, part)?, previous),
                        })
                    })
                    .collect::<Result<_, CounterOverflow>>()?);
            };
            let current = read::grouped(conn, grouping, period.into())?;
            let previous = match compared_to {
                Some(c) => Some(read::grouped(conn, grouping, c.into())?),
                None => None,
            };
            let keys_and_labels: Vec<(String, String)> = match grouping {
                Grouping::Province => admin_map
                    .former_provinces()
                    .map(|p| (p.code.clone(), p.name.clone()))
                    .collect(),
                Grouping::CurrentProvince => admin_map
                    .current_provinces()
                    .map(|p| (p.code.clone(), p.name.clone()))
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
                    let now = *current.get(&key).unwrap_or(&empty);
                    let before = previous.as_ref().map(|p| *p.get(&key).unwrap_or(&empty));
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
        map: (by == "province").then_some(map),
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

/// A product's amounts in whole grams, summed exactly before they become kilograms.
#[derive(Default)]
struct ProductGrams {
    products: i64,
    orders: i64,
    value_vnd: i64,
    weight_grams: i64,
    views: i64,
    export_weight_grams: i64,
    export_grams_by_country: BTreeMap<String, i64>,
}

impl ProductGrams {
    /// Adds `other`, refusing a sum past 64 bits as the rollups do (the products' own rows are
    /// each within them, their total need not be).
    fn add(&mut self, other: &ProductGrams) -> AppResult<()> {
        fn sum(into: &mut i64, more: i64) -> AppResult<()> {
            *into = into
                .checked_add(more)
                .ok_or_else(AppError::value_out_of_range)?;
            Ok(())
        }
        sum(&mut self.products, other.products)?;
        sum(&mut self.orders, other.orders)?;
        sum(&mut self.value_vnd, other.value_vnd)?;
        sum(&mut self.weight_grams, other.weight_grams)?;
        sum(&mut self.views, other.views)?;
        sum(&mut self.export_weight_grams, other.export_weight_grams)?;
        for (country, grams) in &other.export_grams_by_country {
            sum(
                self.export_grams_by_country
                    .entry(country.clone())
                    .or_default(),
                *grams,
            )?;
        }
        Ok(())
    }

    fn amounts(&self) -> ProductAmounts {
        ProductAmounts {
            orders: self.orders,
            value_vnd: self.value_vnd,
            volume_kg: kilograms(self.weight_grams),
            views: self.views,
            export_volume_kg: kilograms(self.export_weight_grams),
            export_by_country: self
                .export_grams_by_country
                .iter()
                .map(|(country, grams)| (country.clone(), kilograms(*grams)))
                .collect(),
        }
    }
}

pub async fn products(
    ctx: &Context,
    caller: &CurrentUser,
    query: &ReportRequest,
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
    if let Some(category) = query.category.as_deref()
        && !CATEGORIES.contains(&category)
    {
        problems.add(
            "category",
            format!("must be one of {}", CATEGORIES.join(", ")),
        );
    }
    if let Some(code) = query.province_code.as_deref()
        && !crate::provinces::looks_like_code(code)
    {
        problems.add("province_code", "must be a two-digit province code");
    }
    let words = problems
        .check(optional_query_words(query.q.as_deref()))
        .unwrap_or_default();
    let map = query_map(&mut problems, query.map.as_deref());
    let (period, compare) = checked(query, problems)?;
    let compared_to = period.compared(compare);
    let origin = query.province_code.clone();
    let filter = ProductReportFilter {
        patterns: words.iter().map(|w| like_pattern(w)).collect(),
        category: query.category.clone(),
        origin_province_code: origin.clone().filter(|_| map == ProvinceMap::Former),
        origin_current_code: origin.filter(|_| map == ProvinceMap::Current),
    };
    let (activity, views, exports, previous) = ctx
        .db
        .run(move |conn| {
            let activity = read::product_activity(conn, &filter, period.into())?;
            let views = read::product_views(conn, &filter, period.into())?;
            let exports = read::product_exports(conn, &filter, period.into())?;
            let previous: Option<HashMap<String, (i64, i64)>> = match compared_to {
                Some(c) => Some(
                    read::product_activity(conn, &filter, c.into())?
                        .into_iter()
                        .map(|a| (a.product_id, (a.value_vnd, a.weight_grams)))
                        .collect(),
                ),
                None => None,
            };
            Ok((activity, views, exports, previous))
        })
        .await?;

    let mut total = ProductGrams::default();
    let mut rows: Vec<ProductRow> = activity
        .into_iter()
        .map(|a| {
            let before = previous
                .as_ref()
                .map(|p| p.get(&a.product_id).copied().unwrap_or((0, 0)));
            let grams = ProductGrams {
                products: 1,
                orders: a.orders,
                value_vnd: a.value_vnd,
                weight_grams: a.weight_grams,
                views: views.get(&a.product_id).copied().unwrap_or(0),
                export_weight_grams: a.export_weight_grams,
                export_grams_by_country: exports
                    .get(&a.product_id)
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect(),
            };
            total.add(&grams)?;
            Ok(ProductRow {
                growth: ProductGrowth {
                    value_vnd: Metric::new(a.value_vnd, before.map(|b| b.0), Unit::Count),
                    volume_kg: Metric::new(a.weight_grams, before.map(|b| b.1), Unit::Grams),
                },
                product_id: a.product_id,
                name: a.name,
                household_id: a.household_id,
                amounts: grams.amounts(),
            })
        })
        .collect::<AppResult<_>>()?;
    let totals = ProductTotals {
        products: total.products,
        amounts: total.amounts(),
    };
    let key = |row: &ProductRow| match sort {
        "volume" => row.amounts.volume_kg,
        "views" => row.amounts.views as f64,
        _ => row.amounts.value_vnd as f64,
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
    query: &ReportRequest,
) -> AppResult<ChartData> {
    require_admin(caller)?;
    let mut problems = Problems::new();
    let metric = match query.metric.as_deref() {
        None => Some(stats::Metric::ValueVnd),
        Some(name) => stats::Metric::named(name),
    };
    if metric.is_none() {
        problems.add(
            "metric",
            format!(
                "must be one of {}",
                metric_names().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let (period, compare) = checked(query, problems)?;
    let metric = metric.unwrap_or(stats::Metric::ValueVnd);
    let days = ctx
        .db
        .run(move |conn| Ok(read::day_totals(conn, period.to)?))
        .await?;
    let shown = |part: Period| -> Result<f64, CounterOverflow> {
        let counts = from_days(&days, part)?;
        Ok(Value::from_raw(counts[metric], metric.unit()).as_f64())
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
        metric: metric.name(),
        period,
        compared_to: period.compared(compare),
        months: months.into_iter().map(|(key, _)| key).collect(),
        current,
        previous,
    })
}
