//! A bank notification, its signature, and what became of it.

use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::text::text_enum;
use crate::validate::{self, Problems};

text_enum! {
    /// What a bank-statement line did: paid its checkout exactly, or not (and why).
    pub enum Outcome {
        Matched = "matched",
        /// Less than the checkout asks.
        Short = "short",
        /// More than it asks, or for a checkout already paid.
        Over = "over",
        /// No checkout code in the content, or one no checkout has.
        Unknown = "unknown",
        /// For a checkout that expired (its orders were cancelled).
        Late = "late",
    }
}

pub const TRANSACTION_ID_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 500;

/// Whether `signature` (hex, optionally prefixed `sha256=`) is the HMAC-SHA256 of `body` under
/// `secret`, compared in constant time. An empty secret verifies nothing.
pub fn signature_is_valid(secret: &str, body: &[u8], signature: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let hex_digest = signature.trim();
    let hex_digest = hex_digest.strip_prefix("sha256=").unwrap_or(hex_digest);
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature a bank would send for `body` (tests and the demo sign with it).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A bank-statement line as the bank sends it (checked by [`Credit::parse`]).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"transaction_id": "FT26335123456", "amount_vnd": 463000, "description": "NS7K2M9Q4XA1 thanh toan", "credited_at": "2026-12-01T09:30:00+07:00"}))]
pub struct CreditInput {
    /// The bank's own id of the transaction (1 to 100 characters).
    pub transaction_id: String,
    pub amount_vnd: i64,
    /// The transfer's content, where the buyer wrote the checkout's code.
    pub description: String,
    /// RFC 3339.
    pub credited_at: String,
}

/// A checked bank-statement line.
#[derive(Debug, Clone)]
pub struct Credit {
    pub transaction_id: String,
    pub amount_vnd: i64,
    pub description: String,
    pub credited_at: NaiveDateTime,
}

impl Credit {
    pub fn parse(input: &CreditInput) -> Result<Credit, crate::error::AppError> {
        let mut problems = Problems::new();
        let transaction_id = problems.check(validate::required_text(
            "transaction_id",
            &input.transaction_id,
            TRANSACTION_ID_MAX_CHARS,
        ));
        let amount_vnd = problems.check(validate::in_range(
            "amount_vnd",
            input.amount_vnd,
            1,
            crate::validate::MAX_VND,
        ));
        if input.description.chars().count() > DESCRIPTION_MAX_CHARS {
            problems.add(
                "description",
                format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
            );
        }
        let credited_at = chrono::DateTime::parse_from_rfc3339(input.credited_at.trim())
            .map(|at| at.naive_utc())
            .map_err(|_| problems.add("credited_at", "must be an RFC 3339 time"))
            .ok();
        problems.finish()?;
        Ok(Credit {
            transaction_id: transaction_id.unwrap_or_default(),
            amount_vnd: amount_vnd.unwrap_or_default(),
            description: input.description.clone(),
            credited_at: credited_at.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_key_over_the_exact_body_verifies() {
        let body = br#"{"transaction_id":"T1","amount_vnd":1000,"description":"x","credited_at":"2026-12-01T00:00:00Z"}"#;
        let signature = sign("secret", body);
        assert!(signature_is_valid("secret", body, &signature));
        assert!(signature_is_valid(
            "secret",
            body,
            &format!("sha256={signature}")
        ));
        assert!(signature_is_valid(
            "secret",
            body,
            &signature.to_uppercase()
        ));
        assert!(!signature_is_valid("other", body, &signature));
        assert!(!signature_is_valid("secret", b"{}", &signature));
        assert!(!signature_is_valid("secret", body, "not hex"));
        assert!(!signature_is_valid("secret", body, ""));
        assert!(!signature_is_valid("", body, &sign("", body)));
    }

    // RFC 4231, test case 2.
    #[test]
    fn the_mac_is_hmac_sha256() {
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
