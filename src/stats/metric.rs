//! The metrics the statistics keep, by name: each is one variant here, one column of
//! `stats_days` (and of whichever other rollup tables keep it), and one migration pair.

use std::ops::{Index, IndexMut};

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::row::NamedRow;
use diesel::sql_types::BigInt;

/// One uptake metric, in the order the API lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    HouseholdsJoined,
    HouseholdsActive,
    ProductsListed,
    ProductsActive,
    Orders,
    ValueVnd,
    WeightGrams,
    ExportWeightGrams,
    Views,
    ShippingFeesVnd,
    CommissionVnd,
    PayoutsVnd,
}

/// How a metric's raw integer is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Kept in grams, shown in kilograms.
    Grams,
}

impl Metric {
    /// Every metric, in API order.
    pub const ALL: [Metric; 12] = [
        Metric::HouseholdsJoined,
        Metric::HouseholdsActive,
        Metric::ProductsListed,
        Metric::ProductsActive,
        Metric::Orders,
        Metric::ValueVnd,
        Metric::WeightGrams,
        Metric::ExportWeightGrams,
        Metric::Views,
        Metric::ShippingFeesVnd,
        Metric::CommissionVnd,
        Metric::PayoutsVnd,
    ];

    /// Its name in the API (reports, CSV headers, the chart's `metric`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::HouseholdsJoined => "households_joined",
            Metric::HouseholdsActive => "households_total",
            Metric::ProductsListed => "products_listed",
            Metric::ProductsActive => "products_total",
            Metric::Orders => "orders",
            Metric::ValueVnd => "transaction_value_vnd",
            Metric::WeightGrams => "volume_kg",
            Metric::ExportWeightGrams => "export_volume_kg",
            Metric::Views => "product_views",
            Metric::ShippingFeesVnd => "shipping_fees_vnd",
            Metric::CommissionVnd => "commission_vnd",
            Metric::PayoutsVnd => "payouts_vnd",
        }
    }

    /// Its column in the rollup tables (and its name in every query that reads them).
    pub fn column(self) -> &'static str {
        match self {
            Metric::HouseholdsJoined => "households_joined",
            Metric::HouseholdsActive => "households_active",
            Metric::ProductsListed => "products_listed",
            Metric::ProductsActive => "products_active",
            Metric::Orders => "orders",
            Metric::ValueVnd => "value_vnd",
            Metric::WeightGrams => "weight_grams",
            Metric::ExportWeightGrams => "export_weight_grams",
            Metric::Views => "views",
            Metric::ShippingFeesVnd => "shipping_vnd",
            Metric::CommissionVnd => "commission_vnd",
            Metric::PayoutsVnd => "payouts_vnd",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::WeightGrams | Metric::ExportWeightGrams => Unit::Grams,
            _ => Unit::Count,
        }
    }

    /// A running total (summed over every day up to a period's end, and mirrored per month in
    /// `stats_active_months`) rather than a flow (summed over the period's days).
    pub fn is_total(self) -> bool {
        matches!(self, Metric::HouseholdsActive | Metric::ProductsActive)
    }

    /// The metric of an API name.
    pub fn named(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A sum of counters that does not fit in 64 bits: refused, never wrapped or capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterOverflow;

impl From<CounterOverflow> for diesel::result::Error {
    fn from(_: CounterOverflow) -> Self {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(crate::error::COUNTER_OVERFLOW.to_owned()),
        )
    }
}

impl From<CounterOverflow> for crate::error::AppError {
    fn from(_: CounterOverflow) -> Self {
        crate::error::AppError::value_out_of_range()
    }
}

/// A value per metric (a rollup row's deltas, or a period's figures), indexed by [`Metric`].
/// Read from a query by column name: every query over the rollups names each metric's column.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts([i64; Metric::ALL.len()]);

impl Index<Metric> for Counts {
    type Output = i64;
    fn index(&self, metric: Metric) -> &i64 {
        &self.0[metric.index()]
    }
}

impl IndexMut<Metric> for Counts {
    fn index_mut(&mut self, metric: Metric) -> &mut i64 {
        &mut self.0[metric.index()]
    }
}

impl Counts {
    /// The given values, zero for every other metric.
    pub fn of(values: &[(Metric, i64)]) -> Counts {
        let mut counts = Counts::default();
        for (metric, value) in values {
            counts[*metric] = *value;
        }
        counts
    }

    /// Only the running totals (zero for the flows).
    pub fn totals(&self) -> Counts {
        let mut totals = Counts::default();
        for metric in Metric::ALL.into_iter().filter(|m| m.is_total()) {
            totals[metric] = self[metric];
        }
        totals
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// Adds `other`, or fails (leaving `self` as it was) when a counter would pass 64 bits.
    pub fn checked_add(&mut self, other: &Counts) -> Result<(), CounterOverflow> {
        let mut sum = *self;
        for metric in Metric::ALL {
            sum[metric] = self[metric]
                .checked_add(other[metric])
                .ok_or(CounterOverflow)?;
        }
        *self = sum;
        Ok(())
    }
}

impl<DB> diesel::deserialize::QueryableByName<DB> for Counts
where
    DB: Backend,
    i64: FromSql<BigInt, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        let mut counts = Counts::default();
        for metric in Metric::ALL {
            counts[metric] = NamedRow::get::<BigInt, i64>(row, metric.column())?;
        }
        Ok(counts)
    }
}

/// `CAST(… AS BIGINT) AS column` for every metric, `value` giving the expression of the metrics a
/// query has (zero for the others): the counter part of every select over the rollups.
pub fn select_counters(value: impl Fn(Metric) -> Option<String>) -> String {
    Metric::ALL
        .into_iter()
        .map(|m| {
            let expr = value(m).unwrap_or_else(|| "0".to_owned());
            format!("CAST({expr} AS BIGINT) AS {}", m.column())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_listed_in_declaration_order_with_distinct_names() {
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            assert_eq!(metric.index(), i);
        }
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }

    #[test]
    fn overflow_leaves_the_counts_as_they_were() {
        let mut a = Counts::of(&[(Metric::Orders, 1), (Metric::Views, i64::MAX)]);
        let before = a;
        assert_eq!(
            a.checked_add(&Counts::of(&[(Metric::Views, 1)])),
            Err(CounterOverflow)
        );
        assert_eq!(a, before);
    }
}
