//! Account types as the API shows them.

use chrono::NaiveDateTime;
use serde::Serialize;

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

/// `{id, email, full_name, role, phone, status, created_at}`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub phone: Option<String>,
    /// `active`, or `suspended` by an admin (a suspended account cannot sign in).
    pub status: AccountStatus,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            id: user.id.to_db(),
            email: user.email,
            full_name: user.full_name,
            role: user.role,
            phone: user.phone,
            status: user.status,
            created_at: user.created_at,
        }
    }
}

/// The answer to a successful login.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginView {
    pub token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    #[serde(with = "crate::time::rfc3339")]
    pub expires_at: NaiveDateTime,
    pub user: UserView,
}
