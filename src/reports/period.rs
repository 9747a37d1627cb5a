//! Report periods: inclusive calendar days, and the period they are compared with.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// The longest period a report covers, to keep month lists and scans bounded.
pub const MAX_PERIOD_DAYS: i64 = 3660;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    PreviousYear,
    PreviousPeriod,
    None,
}

impl Compare {
    pub fn parse(text: Option<&str>) -> Option<Compare> {
        match text {
            None | Some("previous_year") => Some(Compare::PreviousYear),
            Some("previous_period") => Some(Compare::PreviousPeriod),
            Some("none") => Some(Compare::None),
            Some(_) => None,
        }
    }
}

/// The same calendar day a year earlier; 29 February becomes 28 February.
pub fn a_year_earlier(day: NaiveDate) -> NaiveDate {
    day.with_year(day.year() - 1)
        .or_else(|| NaiveDate::from_ymd_opt(day.year() - 1, day.month(), 28))
        .expect("the 28th exists in every month")
}

impl From<Period> for crate::stats::read::Days {
    fn from(p: Period) -> Self {
        crate::stats::read::Days {
            from: p.from,
            to: p.to,
        }
    }
}

impl Period {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period this one is compared with, if any.
    pub fn compared(&self, compare: Compare) -> Option<Period> {
        match compare {
            Compare::None => None,
            Compare::PreviousYear => Some(Period {
                from: a_year_earlier(self.from),
                to: a_year_earlier(self.to),
            }),
            Compare::PreviousPeriod => {
                let to = self.from.pred_opt()?;
                Some(Period {
                    from: to - chrono::Duration::days(self.days() - 1),
                    to,
                })
            }
        }
    }

    /// The same shift that turns this period into `compared`, applied to a part of it
    /// (for month rows): a year back, or back by the period's length.
    pub fn shift_like(&self, part: Period, compare: Compare) -> Option<Period> {
        match compare {
            Compare::None => None,
            Compare::PreviousYear => Some(Period {
                from: a_year_earlier(part.from),
                to: a_year_earlier(part.to),
            }),
            Compare::PreviousPeriod => {
                let shift = chrono::Duration::days(self.days());
                Some(Period {
                    from: part.from - shift,
                    to: part.to - shift,
                })
            }
        }
    }

    /// The calendar months this period touches, each cut to the period: ("2021-01", part).
    pub fn months(&self) -> Vec<(String, Period)> {
        let mut months = Vec::new();
        let mut start = self.from;
        while start <= self.to {
            let next_month = if start.month() == 12 {
                NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
            }
            .expect("valid month");
            let end = (next_month - chrono::Duration::days(1)).min(self.to);
            months.push((
                format!("{:04}-{:02}", start.year(), start.month()),
                Period {
                    from: start,
                    to: end,
                },
            ));
            start = next_month;
        }
        months
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn period(from: &str, to: &str) -> Period {
        Period {
            from: day(from),
            to: day(to),
        }
    }

    #[test]
    fn the_previous_year_maps_29_february_to_28_february() {
        assert_eq!(a_year_earlier(day("2024-02-29")), day("2023-02-28"));
        assert_eq!(
            period("2021-01-01", "2021-06-30").compared(Compare::PreviousYear),
            Some(period("2020-01-01", "2020-06-30"))
        );
        assert_eq!(
            period("2020-02-29", "2020-03-01").compared(Compare::PreviousYear),
            Some(period("2019-02-28", "2019-03-01"))
        );
    }

    #[test]
    fn the_previous_period_is_as_long_and_ends_the_day_before() {
        assert_eq!(
            period("2021-01-01", "2021-06-30").compared(Compare::PreviousPeriod),
            Some(period("2020-07-04", "2020-12-31"))
        );
        assert_eq!(
            period("2021-03-01", "2021-03-01").compared(Compare::PreviousPeriod),
            Some(period("2021-02-28", "2021-02-28"))
        );
        assert_eq!(
            period("2021-01-01", "2021-01-31").compared(Compare::None),
            None
        );
    }

    #[test]
    fn months_are_cut_to_the_period() {
        let months = period("2021-01-15", "2021-03-10").months();
        assert_eq!(
            months,
            vec![
                ("2021-01".to_owned(), period("2021-01-15", "2021-01-31")),
                ("2021-02".to_owned(), period("2021-02-01", "2021-02-28")),
                ("2021-03".to_owned(), period("2021-03-01", "2021-03-10")),
            ]
        );
        assert_eq!(period("2020-12-01", "2021-01-31").months().len(), 2);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn a_day() -> impl Strategy<Value = NaiveDate> {
        (0i64..20_000)
            .prop_map(|n| NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(n))
    }

    proptest! {
        #[test]
        fn compared_periods_are_as_long_or_a_year_back(from in a_day(), length in 0i64..800) {
            let period = Period { from, to: from + chrono::Duration::days(length) };
            let before = period.compared(Compare::PreviousPeriod).unwrap();
            prop_assert_eq!(before.days(), period.days());
            prop_assert_eq!(before.to.succ_opt().unwrap(), period.from);
            let year = period.compared(Compare::PreviousYear).unwrap();
            prop_assert_eq!(year.from.year(), period.from.year() - 1);
            prop_assert!((period.from - year.from).num_days() >= 365 && (period.from - year.from).num_days() <= 366);
            prop_assert!(year.from <= year.to);
        }

        #[test]
        fn months_cover_the_period_without_gaps(from in a_day(), length in 0i64..800) {
            let period = Period { from, to: from + chrono::Duration::days(length) };
            let months = period.months();
            prop_assert_eq!(months.first().unwrap().1.from, period.from);
            prop_assert_eq!(months.last().unwrap().1.to, period.to);
            for pair in months.windows(2) {
                prop_assert_eq!(pair[0].1.to.succ_opt().unwrap(), pair[1].1.from);
            }
            let days: i64 = months.iter().map(|(_, p)| p.days()).sum();
            prop_assert_eq!(days, period.days());
        }
    }
}
