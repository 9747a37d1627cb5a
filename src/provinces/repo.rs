//! Province queries.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::schema::provinces;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = provinces)]
pub struct Province {
    pub code: String,
    pub name: String,
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Province>> {
    provinces::table
        .order(provinces::code)
        .select(Province::as_select())
        .load(conn)
}

pub fn exists(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(provinces::table.find(code))).get_result(conn)
}
