//! VietQR: the EMVCo merchant-presented QR payload as NAPAS specifies it for bank transfers
//! (NAPAS QR Switching, part IV). Every field is a TLV: a two-digit id, a two-digit length and
//! the value; the payload ends with a CRC-16/CCITT-FALSE over everything before it, `6304`
//! included.

use std::collections::BTreeMap;

/// NAPAS's application id, the GUID of the merchant account information (id `38`).
const NAPAS_GUID: &str = "A000000727";
/// Transfer to an account (`QRIBFTTC` would be to a card).
const TO_ACCOUNT: &str = "QRIBFTTA";
/// ISO 4217 numeric code of the đồng.
const VND: &str = "704";

/// A transfer the QR asks for.
#[derive(Debug, Clone)]
pub struct Transfer<'a> {
    /// The beneficiary bank's six-digit BIN (e.g. `970436`).
    pub bank_bin: &'a str,
    /// The beneficiary's account number.
    pub account: &'a str,
    pub amount_vnd: i64,
    /// What the bank shows as the transfer's content: the checkout's code (at most 25 ASCII
    /// letters, digits and spaces).
    pub purpose: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VietQrError {
    #[error("a bank BIN is six digits")]
    Bin,
    #[error("an account number is 1 to 19 letters or digits")]
    Account,
    #[error("an amount is 1 to 13 digits of đồng")]
    Amount,
    #[error("a purpose is 1 to 25 ASCII letters, digits and spaces")]
    Purpose,
    #[error("not a VietQR payload: {0}")]
    Malformed(&'static str),
    #[error("the CRC does not match")]
    Crc,
}

/// The largest amount a VietQR carries: its field holds at most 13 digits.
pub const MAX_AMOUNT_VND: i64 = 9_999_999_999_999;

/// One TLV field.
fn field(id: &str, value: &str) -> String {
    debug_assert!(value.len() < 100, "a TLV value has a two-digit length");
    format!("{id}{:02}{value}", value.len())
}

impl Transfer<'_> {
    /// The payload to draw as a QR code.
    pub fn payload(&self) -> Result<String, VietQrError> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if self.bank_bin.len() != 6 || !digits(self.bank_bin) {
            return Err(VietQrError::Bin);
        }
        if !(1..=19).contains(&self.account.len())
            || !self.account.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(VietQrError::Account);
        }
        let amount = self.amount_vnd.to_string();
        if !(1..=MAX_AMOUNT_VND).contains(&self.amount_vnd) {
            return Err(VietQrError::Amount);
        }
        if !(1..=25).contains(&self.purpose.len())
            || !self
                .purpose
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b' ')
        {
            return Err(VietQrError::Purpose);
        }
        let beneficiary = field("00", self.bank_bin) + &field("01", self.account);
        let merchant =
            field("00", NAPAS_GUID) + &field("01", &beneficiary) + &field("02", TO_ACCOUNT);
        let mut payload = field("00", "01") // payload format indicator
            + &field("01", "12") // dynamic: used for one payment
            + &field("38", &merchant)
            + &field("53", VND)
            + &field("54", &amount)
            + &field("58", "VN")
            + &field("62", &field("08", self.purpose))
            + "6304";
        let crc = crc16_ccitt_false(payload.as_bytes());
        payload.push_str(&format!("{crc:04X}"));
        Ok(payload)
    }
}

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for byte in data {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The top-level fields of a payload (id → value), once its CRC is checked.
pub fn decode(payload: &str) -> Result<BTreeMap<String, String>, VietQrError> {
    let Some(body) = payload
        .len()
        .checked_sub(4)
        .and_then(|end| payload.get(..end))
    else {
        return Err(VietQrError::Malformed(
            "too short, or not text where the CRC should be",
        ));
    };
    if !body.ends_with("6304") {
        return Err(VietQrError::Malformed("no CRC field at the end"));
    }
    let crc = u16::from_str_radix(&payload[body.len()..], 16)
        .map_err(|_| VietQrError::Malformed("the CRC is not hexadecimal"))?;
    if crc != crc16_ccitt_false(body.as_bytes()) {
        return Err(VietQrError::Crc);
    }
    fields(&payload[..payload.len() - 8])
}

/// The TLV fields of `text` (id → value).
pub fn fields(mut text: &str) -> Result<BTreeMap<String, String>, VietQrError> {
    let mut found = BTreeMap::new();
    while !text.is_empty() {
        let (id, rest) = text
            .split_at_checked(2)
            .ok_or(VietQrError::Malformed("a field without an id"))?;
        let (length, rest) = rest
            .split_at_checked(2)
            .ok_or(VietQrError::Malformed("a field without a length"))?;
        let length: usize = length
            .parse()
            .map_err(|_| VietQrError::Malformed("a length that is not a number"))?;
        let (value, rest) = rest
            .split_at_checked(length)
            .ok_or(VietQrError::Malformed("a field longer than the payload"))?;
        found.insert(id.to_owned(), value.to_owned());
        text = rest;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_is_ccitt_false() {
        // The catalogue check value of CRC-16/CCITT-FALSE.
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
        // A payload published by the Go package vietqr-parser (Vietcombank BIN 970436): its CRC
        // field, CD60, is the CRC of everything before it.
        let published = "00020001021238570010A00000072701270006970436011308810004580860208QRIBFTTA53037045802VN6304CD60";
        assert!(decode(published).is_ok());
        let mut tampered = published.to_owned();
        tampered.replace_range(40..41, "5");
        assert_eq!(decode(&tampered), Err(VietQrError::Crc));
    }

    #[test]
    fn a_transfer_payload_carries_every_field_napas_asks_for() {
        let payload = Transfer {
            bank_bin: "970436",
            account: "0881000458086",
            amount_vnd: 250_000,
            purpose: "NS7K2Q9X",
        }
        .payload()
        .unwrap();
        let top = decode(&payload).unwrap();
        assert_eq!(top["00"], "01");
        assert_eq!(top["01"], "12");
        assert_eq!(top["53"], "704");
        assert_eq!(top["54"], "250000");
        assert_eq!(top["58"], "VN");
        assert_eq!(fields(&top["62"]).unwrap()["08"], "NS7K2Q9X");
        let merchant = fields(&top["38"]).unwrap();
        assert_eq!(merchant["00"], "A000000727");
        assert_eq!(merchant["02"], "QRIBFTTA");
        let beneficiary = fields(&merchant["01"]).unwrap();
        assert_eq!(beneficiary["00"], "970436");
        assert_eq!(beneficiary["01"], "0881000458086");
        // The merchant account information is the published payload's, byte for byte.
        assert!(payload.contains("38570010A00000072701270006970436011308810004580860208QRIBFTTA"));
        assert!(payload.starts_with("000201010212"));
    }

    #[test]
    fn bad_transfers_make_no_payload() {
        let good = Transfer {
            bank_bin: "970436",
            account: "0881000458086",
            amount_vnd: 1,
            purpose: "NS1",
        };
        for (transfer, error) in [
            (
                Transfer {
                    bank_bin: "97043",
                    ..good.clone()
                },
                VietQrError::Bin,
            ),
            (
                Transfer {
                    account: "",
                    ..good.clone()
                },
                VietQrError::Account,
            ),
            (
                Transfer {
                    account: "08-81",
                    ..good.clone()
                },
                VietQrError::Account,
            ),
            (
                Transfer {
                    amount_vnd: 0,
                    ..good.clone()
                },
                VietQrError::Amount,
            ),
            (
                Transfer {
                    amount_vnd: 10_000_000_000_000,
                    ..good.clone()
                },
                VietQrError::Amount,
            ),
            (
                Transfer {
                    purpose: "Đơn hàng",
                    ..good.clone()
                },
                VietQrError::Purpose,
            ),
            (
                Transfer {
                    purpose: "A12345678901234567890123456",
                    ..good.clone()
                },
                VietQrError::Purpose,
            ),
        ] {
            assert_eq!(transfer.payload(), Err(error));
        }
        assert!(good.payload().is_ok());
    }

    #[test]
    fn truncated_or_garbled_payloads_are_refused_not_panicked_on() {
        for text in [
            "",
            "63",
            "6304",
            "00020101",
            "0002016304ZZZZ",
            "é6304ABCD",
            "0002016304ABCé",
        ] {
            assert!(decode(text).is_err(), "{text:?}");
        }
    }
}
