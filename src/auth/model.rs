//! Account types: roles, statuses, an account as given, and a new session.

use chrono::NaiveDateTime;

use super::repo::User;
use crate::db::text::text_enum;

text_enum! {
    /// What an account may do: farmers run households, buyers order, admins oversee.
    pub enum Role {
        Farmer = "farmer",
        Buyer = "buyer",
        Admin = "admin",
    }
}

text_enum! {
    /// An admin suspends an account: it cannot sign in, and its households are suspended with it.
    pub enum AccountStatus {
        Active = "active",
        Suspended = "suspended",
    }
}

/// An account as someone registering (or the command line) gives it.
pub struct AccountInput<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub full_name: &'a str,
    pub role: &'a str,
    pub phone: Option<&'a str>,
}

/// A new session: the token (shown once; only its hash is stored) and whose it is.
pub struct Session {
    pub token: String,
    pub expires_at: NaiveDateTime,
    pub user: User,
}
