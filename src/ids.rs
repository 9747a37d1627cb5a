//! Id newtypes, so that a `HouseholdId` cannot be passed where an `OrderId` is meant.
//! Ids are UUIDv7 (new rows sort by time) and stored as their hyphenated text on both databases.

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $crate::db::text::StoredAsText for $name {
            fn to_text(&self) -> String {
                self.to_db()
            }

            fn from_text(text: &str) -> Option<Self> {
                uuid::Uuid::try_parse(text).ok().map(Self)
            }
        }

        $crate::db::text::stored_as_text!($name);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Parses an id from a path or body; anything that is not a UUID is `None`.
            pub fn parse(text: &str) -> Option<Self> {
                uuid::Uuid::try_parse(text.trim()).ok().map(Self)
            }

            /// The stored form.
            pub fn to_db(&self) -> String {
                self.0.hyphenated().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);

id_type!(
    /// A farm household.
    HouseholdId
);

id_type!(
    /// A product listing.
    ProductId
);

/// Parses an id taken from a URL path: something that is not a UUID names no resource (404).
pub fn from_path<T>(
    text: &str,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, crate::error::AppError> {
    parse(text).ok_or_else(|| crate::error::AppError::not_found(what))
}

id_type!(
    /// An order.
    OrderId
);

id_type!(
    /// A checkout: one cart across farms, one order per household.
    CheckoutId
);

id_type!(
    /// One balanced entry of the ledger.
    EntryId
);

id_type!(
    /// A payout batch.
    PayoutId
);
