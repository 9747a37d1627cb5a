//! Serde helpers for request bodies.

use serde::{Deserialize, Deserializer};

/// For PATCH bodies: tells a field left out (`None`) from one set to null (`Some(None)`).
/// Use with `#[serde(default, deserialize_with = "crate::serde_util::double_option")]`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
