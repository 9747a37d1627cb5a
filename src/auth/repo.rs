//! Account queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{AccountStatus, Role};
use crate::db::DbConnection;
use crate::db::schema::{auth_tokens, users};
use crate::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
// NULL, not DEFAULT, for None: what bulk inserts (PostgreSQL COPY) need; no nullable column has a default.
#[diesel(treat_none_as_default_value = false)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub email_key: String,
    pub password_hash: String,
    pub full_name: String,
    pub role: Role,
    pub phone: Option<String>,
    pub created_at: NaiveDateTime,
    pub status: AccountStatus,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = auth_tokens)]
pub struct NewAuthToken {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_user(conn: &mut DbConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(|_| ())
}

pub fn find_user_by_email_key(
    conn: &mut DbConnection,
    email_key: &str,
) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email_key.eq(email_key))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_user(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Locks a user's row (PostgreSQL) until the transaction ends: what one user may hold at once is
/// then counted by one of their requests at a time. SQLite's writers take turns anyway.
pub fn lock_user(conn: &mut DbConnection, id: &UserId) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        users::table
            .find(id)
            .select(users::id)
            .for_update()
            .load::<UserId>(pg)?;
    }
    Ok(())
}

pub fn insert_token(conn: &mut DbConnection, token: &NewAuthToken) -> QueryResult<()> {
    diesel::insert_into(auth_tokens::table)
        .values(token)
        .execute(conn)
        .map(|_| ())
}

/// The owner of an unexpired token. This lookup runs on every signed-in request, so it is kept
/// to a statement that SQLite can keep prepared: expiry is checked here, and there is no
/// `LIMIT` (the hash is the key). SQLite re-plans a statement whenever a value bound to its
/// `LIMIT`, or compared with an indexed column such as `expires_at`, is bound again.
pub fn find_token_user(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<User>> {
    let found: Vec<(User, NaiveDateTime)> = auth_tokens::table
        .inner_join(users::table)
        .filter(auth_tokens::token_hash.eq(token_hash))
        .select((User::as_select(), auth_tokens::expires_at))
        .load(conn)?;
    Ok(found
        .into_iter()
        .find(|(_, expires_at)| *expires_at > now)
        .map(|(user, _)| user))
}

pub fn delete_token(conn: &mut DbConnection, token_hash: &str) -> QueryResult<usize> {
    diesel::delete(auth_tokens::table.filter(auth_tokens::token_hash.eq(token_hash))).execute(conn)
}

/// Every token of one account (suspension).
pub fn delete_user_tokens(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<usize> {
    diesel::delete(auth_tokens::table.filter(auth_tokens::user_id.eq(user_id))).execute(conn)
}

/// Expired tokens of every account (the maintenance task).
pub fn delete_all_expired_tokens(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(auth_tokens::table.filter(auth_tokens::expires_at.le(now))).execute(conn)
}

/// Keeps `keep` tokens of `user_id`, `newest` among them and then the most recent; revokes the rest.
pub fn revoke_tokens_beyond(
    conn: &mut DbConnection,
    user_id: &UserId,
    newest: &str,
    keep: usize,
) -> QueryResult<usize> {
    // Sessions are capped, so this loads at most `keep` + 1 rows.
    let others: Vec<String> = auth_tokens::table
        .filter(auth_tokens::user_id.eq(user_id))
        .filter(auth_tokens::token_hash.ne(newest))
        .order((
            auth_tokens::created_at.desc(),
            auth_tokens::token_hash.desc(),
        ))
        .select(auth_tokens::token_hash)
        .load(conn)?;
    let revoked = others.get(keep.saturating_sub(1)..).unwrap_or_default();
    if revoked.is_empty() {
        return Ok(0);
    }
    diesel::delete(auth_tokens::table.filter(auth_tokens::token_hash.eq_any(revoked))).execute(conn)
}

pub fn set_user_status(
    conn: &mut DbConnection,
    id: &UserId,
    status: AccountStatus,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::status.eq(status))
        .execute(conn)
}

pub fn delete_expired_tokens(
    conn: &mut DbConnection,
    user_id: &UserId,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        auth_tokens::table
            .filter(auth_tokens::user_id.eq(user_id))
            .filter(auth_tokens::expires_at.le(now)),
    )
    .execute(conn)
}

/// Many accounts at once (the demo's).
pub fn insert_users(conn: &mut DbConnection, rows: &[User]) -> QueryResult<usize> {
    crate::db::bulk_insert!(conn, users::table, rows)
}

/// The accounts with these email keys that exist (email key, id, role, status).
pub fn accounts_by_email_keys(
    conn: &mut DbConnection,
    keys: &[String],
) -> QueryResult<Vec<(String, UserId, Role, AccountStatus)>> {
    users::table
        .filter(users::email_key.eq_any(keys))
        .select((users::email_key, users::id, users::role, users::status))
        .load(conn)
}
