//! Id newtypes, so that a `HouseholdId` cannot be passed where an `OrderId` is meant.
//! Ids are UUIDv7 (new rows sort by time) and stored as their hyphenated text on both databases.

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

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
