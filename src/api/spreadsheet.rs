//! Text a spreadsheet opens: a cell that starts like a formula would run, so users' text (names,
//! labels) gets a leading `'` (OWASP's rule for CSV injection). Every CSV the API answers (the
//! reports, the payout bank file) writes users' text through [`spreadsheet_safe`].

use std::borrow::Cow;

/// What a spreadsheet may read as the start of a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` with a leading `'` when a spreadsheet would read it as a formula.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}
