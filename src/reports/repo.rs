//! What the reports read besides the statistics (those come from [`crate::stats::read`]).

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::DbConnection;

/// Names of households, by id.
pub fn household_names(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    use crate::db::schema::households;
    let mut names = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(String, String)> = households::table
            .filter(households::id.eq_any(chunk))
            .select((households::id, households::name))
            .load(conn)?;
        names.extend(rows);
    }
    Ok(names)
}
