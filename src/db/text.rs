//! Rust types stored as text: ids (UUIDs) and statuses (enums). Rows hold the typed value and
//! the database holds its text, on both backends, so a status is never a string compared by
//! hand and an id of one table cannot be stored in another's column.

use std::io::Write;

use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

/// A value with one text form in the database.
pub trait StoredAsText: Sized {
    /// The stored text.
    fn to_text(&self) -> String;
    /// The value a stored text stands for; `None` for text this type never stores.
    fn from_text(text: &str) -> Option<Self>;
}

/// What a row with text its type does not know says (a bug or a hand-edited database).
fn unknown<T>(text: &str) -> deserialize::Result<T> {
    Err(format!("{text:?} is not a stored {}", std::any::type_name::<T>()).into())
}

/// diesel's conversions of a [`StoredAsText`] type, for both databases and their union
/// (`MultiBackend`); the type derives `AsExpression` and `FromSqlRow` with `sql_type = Text`.
macro_rules! stored_as_text {
    ($type:ty) => {
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $type {
            fn from_sql(
                bytes: <diesel::pg::Pg as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                $crate::db::text::from_pg(bytes)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite>
            for $type
        {
            fn from_sql(
                bytes: <diesel::sqlite::Sqlite as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                $crate::db::text::from_sqlite(bytes)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, $crate::db::MultiBackend>
            for $type
        {
            fn from_sql(
                bytes: <$crate::db::MultiBackend as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                bytes.from_sql::<Self, diesel::sql_types::Text>()
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                $crate::db::text::to_pg(self, out)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                $crate::db::text::to_sqlite(self, out)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((diesel::sql_types::Text, self));
                Ok(diesel::serialize::IsNull::No)
            }
        }
    };
}
pub(crate) use stored_as_text;

pub fn from_pg<T: StoredAsText>(
    bytes: <Pg as diesel::backend::Backend>::RawValue<'_>,
) -> deserialize::Result<T> {
    let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
    T::from_text(&text).map_or_else(|| unknown(&text), Ok)
}

pub fn from_sqlite<T: StoredAsText>(
    bytes: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
) -> deserialize::Result<T> {
    let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
    T::from_text(&text).map_or_else(|| unknown(&text), Ok)
}

pub fn to_pg<T: StoredAsText>(value: &T, out: &mut Output<'_, '_, Pg>) -> serialize::Result {
    out.write_all(value.to_text().as_bytes())?;
    Ok(IsNull::No)
}

pub fn to_sqlite<T: StoredAsText>(
    value: &T,
    out: &mut Output<'_, '_, Sqlite>,
) -> serialize::Result {
    out.set_value(value.to_text());
    Ok(IsNull::No)
}

/// An enum stored as one of a fixed set of texts, shown by the API as the same text:
/// `text_enum! { /// doc \n pub enum OrderStatus { Placed = "placed", … } }`.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value a text names; `None` for any other text.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The value `text` names, or a problem with `field` listing the values there are.
            pub fn parse_field(
                field: &str,
                text: &str,
            ) -> Result<$name, $crate::error::FieldError> {
                Self::parse(text).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::error::FieldError::new(
                        field,
                        format!("must be one of {}", names.join(", ")),
                    )
                })
            }
        }

        // Written out: utoipa's derive does not see a `serde(rename)` a macro passes it, and
        // would document the variants' Rust names.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::db::text::StoredAsText for $name {
            fn to_text(&self) -> String {
                self.as_str().to_owned()
            }

            fn from_text(text: &str) -> Option<Self> {
                Self::parse(text)
            }
        }

        $crate::db::text::stored_as_text!($name);
    };
}
pub(crate) use text_enum;
