//! Payments (issue 17, under way): so far the VietQR payload a bank transfer is paid with.

pub mod vietqr;
