//! `/households/{id}/ledger`, `/admin/payouts`.
