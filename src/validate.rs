//! Text rules of API.md shared by every domain: names are trimmed and 1..=200 characters,
//! descriptions at most 5000, emails at most 254. Each check adds to a list of field errors so
//! that one answer names every problem.

use crate::error::{AppError, AppResult, FieldError};

pub const NAME_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 5000;
pub const EMAIL_MAX_CHARS: usize = 254;
/// Postal addresses: of households and of shipping.
pub const ADDRESS_MAX_CHARS: usize = 500;
/// Largest sum of money the API takes or states (a unit price, an order's goods, a threshold).
pub const MAX_VND: i64 = 1_000_000_000_000_000;
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;

/// Collects field problems; `finish` turns them into a 422 when there are any.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Keeps the value when valid, records the problem otherwise.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                self.0.push(problem);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<(), crate::error::AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::AppError::validation(self.0))
        }
    }
}

/// A household's or a product's name: required, at most [`NAME_MAX_CHARS`].
pub fn name(value: &str) -> Result<String, FieldError> {
    required_text("name", value, NAME_MAX_CHARS)
}

/// A household's or a product's description: optional, at most [`DESCRIPTION_MAX_CHARS`].
pub fn description(value: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text("description", value, DESCRIPTION_MAX_CHARS)
}

/// A required name-like text: trimmed, 1..=`max` characters, no control characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    checked_text(field, trimmed, max)
}

/// An optional free text: trimmed; empty becomes `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(trimmed) => checked_text(field, trimmed, max).map(Some),
    }
}

fn checked_text(field: &str, trimmed: &str, max: usize) -> Result<String, FieldError> {
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    // Line breaks are fine in descriptions; other control characters only cause trouble downstream.
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// An email address: trimmed, at most 254 characters, `local@domain.tld`, no spaces.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.chars().count() > EMAIL_MAX_CHARS {
        return Err(FieldError::new(field, "must be at most 254 characters"));
    }
    let valid = match trimmed.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "must be an email address like name@example.com",
        ))
    }
}

/// A phone number as people write it (`0912 345 678`, `+84 912-345-678`): 8..=15 digits,
/// an optional leading `+`, and spaces, dots, dashes or parentheses between them.
pub fn optional_phone(field: &str, value: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(trimmed) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    let allowed = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')'));
    if allowed && (8..=15).contains(&digits) && trimmed.len() <= 32 {
        Ok(Some(trimmed.to_owned()))
    } else {
        Err(FieldError::new(
            field,
            "must be a phone number of 8 to 15 digits",
        ))
    }
}

pub fn in_range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, FieldError> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

/// An `Idempotency-Key` (orders, checkouts, payouts): 1..=255 characters, none a control one.
pub fn idempotency_key(key: &str) -> AppResult<()> {
    let length = key.chars().count();
    if (1..=IDEMPOTENCY_KEY_MAX_CHARS).contains(&length) && !key.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "Idempotency-Key",
            "must be 1 to 255 characters without control characters",
        ))
    }
}

/// A calendar day `YYYY-MM-DD` of a query (`from`, `to`), recording a problem when it is not
/// one, or when it is `required` and missing.
pub fn query_day(
    problems: &mut Problems,
    field: &str,
    value: Option<&str>,
    required: bool,
) -> Option<chrono::NaiveDate> {
    let Some(text) = value else {
        if required {
            problems.add(field, "is required, as YYYY-MM-DD");
        }
        return None;
    };
    let parsed = crate::time::parse_date(text);
    if parsed.is_none() {
        problems.add(field, "must be a date YYYY-MM-DD");
    }
    parsed
}

/// An optional calendar date `YYYY-MM-DD` (empty is none).
pub fn optional_date(
    field: &str,
    value: Option<&str>,
) -> Result<Option<chrono::NaiveDate>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => crate::time::parse_date(text)
            .map(Some)
            .ok_or_else(|| FieldError::new(field, "must be a date YYYY-MM-DD")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(
            required_text("name", "  Vải thiều  ", 200).unwrap(),
            "Vải thiều"
        );
        assert!(required_text("name", "   ", 200).is_err());
        assert!(required_text("name", &"ệ".repeat(200), 200).is_ok());
        assert!(required_text("name", &"ệ".repeat(201), 200).is_err());
        assert!(required_text("name", "a\u{0}b", 200).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(email("email", " An@Example.vn ").unwrap(), "An@Example.vn");
        for bad in ["", "a", "a@b", "@b.vn", "a@.vn", "a b@c.vn", "a@b@c.vn"] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_accept_common_vietnamese_spellings() {
        for good in [
            "0912345678",
            "0912 345 678",
            "+84 912-345-678",
            "(024) 3825 1234",
        ] {
            assert!(
                optional_phone("phone", Some(good)).unwrap().is_some(),
                "{good}"
            );
        }
        assert_eq!(optional_phone("phone", Some("  ")).unwrap(), None);
        for bad in ["12345", "0912abc678", "++84912345678"] {
            assert!(optional_phone("phone", Some(bad)).is_err(), "{bad}");
        }
    }
}
