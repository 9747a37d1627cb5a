//! Who sees a household's ledger, payouts, and the books' check.
