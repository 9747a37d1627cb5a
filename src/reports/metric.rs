//! A metric with its comparison: `{"current", "previous", "change", "growth_pct"}`.

use serde::Serialize;
use utoipa::ToSchema;

/// Growth in percent, `(current - previous) / previous × 100`, rounded half away from zero to one
/// decimal in exact integer arithmetic; `None` when `previous` is 0.
pub fn growth_pct(current: i64, previous: i64) -> Option<f64> {
    if previous == 0 {
        return None;
    }
    let numerator = (i128::from(current) - i128::from(previous)) * 1000;
    let denominator = i128::from(previous);
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    let rounded = if 2 * remainder.abs() >= denominator.abs() {
        quotient
            + if (numerator < 0) == (denominator < 0) {
                1
            } else {
                -1
            }
    } else {
        quotient
    };
    Some(rounded as f64 / 10.0)
}

/// A metric's value as shown: a count or an amount of đồng, or kilograms from grams.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Count(i64),
    Kilograms(f64),
}

impl Value {
    pub fn from_raw(raw: i64, unit: Unit) -> Value {
        match unit {
            Unit::Count => Value::Count(raw),
            Unit::Grams => Value::Kilograms(raw as f64 / 1000.0),
        }
    }

    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Count(n) => *n as f64,
            Value::Kilograms(kg) => *kg,
        }
    }
}

/// How a metric's raw integer is shown (each metric's is [`crate::stats::Metric::unit`]).
pub use crate::stats::Unit;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metric {
    pub current: Value,
    pub previous: Option<Value>,
    pub change: Option<Value>,
    pub growth_pct: Option<f64>,
}

impl Metric {
    /// From raw integers (grams for weights); `previous` is `None` without a comparison.
    pub fn new(current: i64, previous: Option<i64>, unit: Unit) -> Metric {
        Metric {
            current: Value::from_raw(current, unit),
            previous: previous.map(|p| Value::from_raw(p, unit)),
            change: previous.map(|p| Value::from_raw(current - p, unit)),
            growth_pct: previous.and_then(|p| growth_pct(current, p)),
        }
    }
}

/// How a metric is documented in the OpenAPI document (its values are counts, đồng or kilograms).
/// A metric this period against the compared one.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"current": 7987, "previous": 2745, "change": 5242, "growth_pct": 191.0}))]
pub struct MetricDoc {
    /// A count, đồng, or kilograms (volume metrics) this period.
    pub current: f64,
    /// The same in the compared period; null with `compare=none`.
    pub previous: Option<f64>,
    pub change: Option<f64>,
    /// `(current - previous) / previous × 100`, rounded half away from zero to one decimal;
    /// null when previous is 0 or without a comparison.
    pub growth_pct: Option<f64>,
}

/// The uptake and money metrics.
#[derive(Serialize, ToSchema)]
pub struct MetricsDoc {
    /// Households whose `joined_at` falls in the period.
    pub households_joined: MetricDoc,
    /// Households joined up to the period's end and not suspended.
    pub households_total: MetricDoc,
    /// Products created in the period.
    pub products_listed: MetricDoc,
    /// Products created up to the period's end and not archived.
    pub products_total: MetricDoc,
    /// Orders placed in the period and not cancelled.
    pub orders: MetricDoc,
    /// Sum of `total_vnd` of those orders.
    pub transaction_value_vnd: MetricDoc,
    /// Sum of `total_weight_grams` / 1000 of those orders.
    pub volume_kg: MetricDoc,
    /// The same for orders shipped outside Vietnam.
    pub export_volume_kg: MetricDoc,
    /// Product page views counted in the period.
    pub product_views: MetricDoc,
    /// Sum of `shipping_vnd` of the counted orders (placed in the period, not cancelled).
    pub shipping_fees_vnd: MetricDoc,
    /// The platform's commission on orders whose household share became payable in the period
    /// (delivered and paid).
    pub commission_vnd: MetricDoc,
    /// Money paid out to households in the period.
    pub payouts_vnd: MetricDoc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_matches_the_seed_figures() {
        assert_eq!(growth_pct(7987, 2745), Some(191.0));
        assert_eq!(growth_pct(14594, 3966), Some(268.0));
        assert_eq!(growth_pct(944_000_000_000, 240_200_000_000), Some(293.0));
    }

    #[test]
    fn growth_rounds_half_away_from_zero() {
        assert_eq!(growth_pct(10005, 10000), Some(0.1)); // +0.05% → 0.1
        assert_eq!(growth_pct(9995, 10000), Some(-0.1)); // -0.05% → -0.1
        assert_eq!(growth_pct(10004, 10000), Some(0.0));
        assert_eq!(growth_pct(2, 3), Some(-33.3));
        assert_eq!(growth_pct(0, 5), Some(-100.0));
        assert_eq!(growth_pct(5, 0), None);
        assert_eq!(growth_pct(i64::MAX, 1), Some(922_337_203_685_477_580_600.0));
    }

    #[test]
    fn metrics_show_grams_as_kilograms() {
        let m = Metric::new(8_280_000_000, Some(1_000_000), Unit::Grams);
        assert_eq!(m.current, Value::Kilograms(8_280_000.0));
        assert_eq!(m.change, Some(Value::Kilograms(8_279_000.0)));
        let none = Metric::new(3, None, Unit::Count);
        assert_eq!(
            (none.previous, none.change, none.growth_pct),
            (None, None, None)
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn growth_is_the_exact_percentage_rounded_to_a_tenth(current in 0i64..1_000_000_000_000_000, previous in 1i64..1_000_000_000_000_000) {
            let growth = growth_pct(current, previous).unwrap();
            let exact = (current as f64 - previous as f64) / previous as f64 * 100.0;
            prop_assert!((growth - exact).abs() <= 0.05 + exact.abs() * 1e-12, "{} vs {}", growth, exact);
            prop_assert_eq!(growth > 0.0, exact >= 0.05);
            prop_assert_eq!(growth_pct(previous, previous), Some(0.0));
        }

        #[test]
        fn growth_is_symmetric_around_zero(change in 0i64..1_000_000, previous in 1i64..1_000_000) {
            let up = growth_pct(previous + change, previous).unwrap();
            let down = growth_pct(previous - change, previous).unwrap();
            prop_assert_eq!(up, -down);
        }
    }
}
