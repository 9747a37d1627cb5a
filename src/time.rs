//! Time helpers: timestamps are stored as UTC `NaiveDateTime` (microsecond precision, the
//! finest both databases keep) and written as RFC 3339 with a `Z`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Now, in UTC, truncated to whole microseconds so that what is stored is what is read back.
pub fn now_utc() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    let micros = now.and_utc().timestamp_micros();
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.naive_utc())
        .unwrap_or(now)
}

pub fn to_rfc3339(value: &NaiveDateTime) -> String {
    value.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `#[serde(with = "crate::time::rfc3339")]` for `NaiveDateTime` fields holding UTC. Binary
/// formats (the search index's rows) keep microseconds since the epoch instead: a quarter of a
/// row's bytes less, and nothing to parse.
pub mod rfc3339 {
    use chrono::{DateTime, NaiveDateTime};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &NaiveDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&super::to_rfc3339(value))
        } else {
            serializer.serialize_i64(value.and_utc().timestamp_micros())
        }
    }

    /// Reads back what `serialize` wrote (text: any RFC 3339 offset, converted to UTC).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveDateTime, D::Error> {
        if !deserializer.is_human_readable() {
            let micros = i64::deserialize(deserializer)?;
            return DateTime::from_timestamp_micros(micros)
                .map(|t| t.naive_utc())
                .ok_or_else(|| serde::de::Error::custom("timestamp out of range"));
        }
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.naive_utc())
            .map_err(serde::de::Error::custom)
    }
}

/// The same for `Option<NaiveDateTime>`.
pub mod rfc3339_option {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(
        value: &Option<NaiveDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_str(&super::to_rfc3339(value)),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_in_utc_with_z() {
        let t = NaiveDateTime::parse_from_str("2021-06-30 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(to_rfc3339(&t), "2021-06-30T10:00:00Z");
    }

    #[test]
    fn timestamps_read_back_as_written_in_text_and_in_binary_rows() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct At(#[serde(with = "rfc3339")] NaiveDateTime);
        let t = now_utc();
        let json = serde_json::to_string(&At(t)).unwrap();
        assert_eq!(serde_json::from_str::<At>(&json).unwrap().0, t);
        let bytes = postcard::to_allocvec(&At(t)).unwrap();
        assert!(
            bytes.len() <= 10,
            "microseconds, not text: {} bytes",
            bytes.len()
        );
        assert_eq!(postcard::from_bytes::<At>(&bytes).unwrap().0, t);
    }

    #[test]
    fn now_has_no_sub_microsecond_part() {
        assert_eq!(now_utc().and_utc().timestamp_subsec_nanos() % 1000, 0);
    }
}

/// The UTC instant at which `day` begins in `tz` (Vietnam has no DST, but other zones might).
pub fn day_start_utc(day: chrono::NaiveDate, tz: chrono_tz::Tz) -> NaiveDateTime {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight).earliest() {
        Some(local) => local.naive_utc(),
        // Midnight skipped by a DST jump: the day starts at the first instant that exists.
        None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or(midnight),
    }
}

/// The calendar day in `tz` of a UTC timestamp.
pub fn local_day(utc: NaiveDateTime, tz: chrono_tz::Tz) -> chrono::NaiveDate {
    utc.and_utc().with_timezone(&tz).date_naive()
}

/// Parses a `YYYY-MM-DD` date, its year four digits. chrono's `%Y` also takes signed and longer
/// years (`-262143`, `+10000`), whose arithmetic (a year earlier, the month after) leaves its
/// range, which PostgreSQL's dates do not hold, and which SQLite's text would sort wrongly.
pub fn parse_date(text: &str) -> Option<chrono::NaiveDate> {
    let text = text.trim();
    let year = text.get(..4)?;
    if !year.bytes().all(|b| b.is_ascii_digit()) || text.as_bytes().get(4) != Some(&b'-') {
        return None;
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod day_tests {
    use super::*;

    #[test]
    fn a_date_has_a_four_digit_year() {
        assert!(parse_date(" 2021-07-01 ").is_some());
        assert!(parse_date("0001-01-01").is_some());
        for text in [
            "-262143-06-01",
            "+262142-12-01",
            "10000-01-01",
            "+2021-01-01",
            "21-07-01",
            "2021",
            "ạ",
            "",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }

    #[test]
    fn vietnam_days_start_at_17_utc_the_day_before() {
        let tz: chrono_tz::Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
        let day = parse_date("2021-07-01").unwrap();
        assert_eq!(to_rfc3339(&day_start_utc(day, tz)), "2021-06-30T17:00:00Z");
        let evening =
            NaiveDateTime::parse_from_str("2021-06-30 18:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(local_day(evening, tz), day);
        assert_eq!(parse_date("2021-02-30"), None);
    }
}
