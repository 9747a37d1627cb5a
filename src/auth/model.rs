//! Account types as the API shows them.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::repo::User;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Farmer,
    Buyer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Farmer => "farmer",
            Role::Buyer => "buyer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "farmer" => Some(Role::Farmer),
            "buyer" => Some(Role::Buyer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// `{id, email, full_name, role, phone, status, created_at}`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub phone: Option<String>,
    /// `active`, or `suspended` by an admin (a suspended account cannot sign in).
    pub status: String,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: NaiveDateTime,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            id: user.id,
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
