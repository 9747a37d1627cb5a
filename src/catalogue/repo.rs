//! The change feed the index follows (`search_changes`, written by triggers; see the migration
//! `…search_change_feed`), and where a server's reading of it stands.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use crate::db::DbConnection;
use crate::db::sql::Sql;

/// How far a server has read the feed. SQLite: the last `seq` read (one writer at a time, so
/// rows appear in `seq` order). PostgreSQL: every transaction id below this has been read (rows
/// of transactions still running may appear later with a lower `seq`; ids below the oldest
/// running transaction can no longer gain rows).
pub type Position = i64;

/// PostgreSQL: the oldest transaction of this database still running, or the next transaction
/// id when none is: rows of every transaction below it are visible and final. Transaction ids
/// are the cluster's, but only this database's transactions can write its feed, so other
/// databases' long transactions do not hold it back (which `pg_snapshot_xmin` would).
/// `backend_xid` is 32 bits: it takes the epoch of the snapshot's `xmax` (the one before when
/// it is above `xmax`'s low half). The snapshot is taken before `pg_stat_activity` is read, so a
/// transaction that drew its id before `xmax` and still runs shows in it. Sessions of another
/// role that the server's role may not see would not: write with one role.
const POSTGRES_HORIZON: &str = "SELECT LEAST(h.xmax, COALESCE(MIN(((h.xmax >> 32) << 32) + a.x \
     - CASE WHEN a.x > (h.xmax & 4294967295) THEN 4294967296 ELSE 0 END), h.xmax)) AS value \
     FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) h \
     LEFT JOIN (SELECT backend_xid::text::bigint AS x FROM pg_stat_activity \
     WHERE datname = current_database() AND backend_xid IS NOT NULL) a ON true \
     GROUP BY h.xmax";

/// The rows a page of the feed returns at most.
const PAGE_ROWS: i64 = 20_000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub product_ids: Vec<String>,
    pub household_ids: Vec<String>,
    /// Where the next read starts.
    pub next: Position,
    /// A full page was read: more may be waiting.
    pub more: bool,
}

#[derive(QueryableByName)]
struct ChangeRow {
    #[diesel(sql_type = BigInt)]
    at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    product_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    household_id: Option<String>,
}

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// Where a reading that starts now from a full copy of the database must begin.
pub fn position_now(conn: &mut DbConnection) -> QueryResult<Position> {
    let sql = match conn {
        DbConnection::Sqlite(_) => "SELECT COALESCE(MAX(seq), 0) AS value FROM search_changes",
        DbConnection::Postgres(_) => POSTGRES_HORIZON,
    };
    let rows: Vec<Value> = Sql::new(sql).load(conn)?;
    Ok(rows.first().map_or(0, |row| row.value))
}

/// The changes after `from`, a page at a time.
pub fn changes_since(conn: &mut DbConnection, from: Position) -> QueryResult<Changes> {
    match conn {
        DbConnection::Sqlite(_) => {
            let rows: Vec<ChangeRow> = Sql::new(
                "SELECT seq AS at, product_id, household_id FROM search_changes \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(from)
            .bind(PAGE_ROWS)
            .load(conn)?;
            let next = rows.last().map_or(from, |row| row.at);
            let more = rows.len() as i64 == PAGE_ROWS;
            Ok(Changes {
                more,
                ..collect(rows, next)
            })
        }
        DbConnection::Postgres(_) => {
            let until = position_now(conn)?;
            let rows: Vec<ChangeRow> = Sql::new(
                "SELECT txid AS at, product_id, household_id FROM search_changes \
                 WHERE txid >= $1 AND txid < $2 ORDER BY txid LIMIT $3",
            )
            .bind(from)
            .bind(until)
            .bind(PAGE_ROWS)
            .load(conn)?;
            if (rows.len() as i64) < PAGE_ROWS {
                return Ok(collect(rows, until.max(from)));
            }
            // A full page: keep whole transactions. The last one may go on past the page, so it
            // is read again next time, unless it is the only one (then all of it, now).
            let last = rows.last().map_or(from, |row| row.at);
            if rows.first().is_some_and(|row| row.at == last) {
                let rows: Vec<ChangeRow> = Sql::new(
                    "SELECT txid AS at, product_id, household_id FROM search_changes WHERE txid = $1",
                )
                .bind(last)
                .load(conn)?;
                return Ok(Changes {
                    more: true,
                    ..collect(rows, last + 1)
                });
            }
            let rows = rows.into_iter().filter(|row| row.at < last).collect();
            Ok(Changes {
                more: true,
                ..collect(rows, last)
            })
        }
    }
}

fn collect(rows: Vec<ChangeRow>, next: Position) -> Changes {
    let mut changes = Changes {
        next,
        ..Changes::default()
    };
    for row in rows {
        changes.product_ids.extend(row.product_id);
        changes.household_ids.extend(row.household_id);
    }
    for ids in [&mut changes.product_ids, &mut changes.household_ids] {
        ids.sort_unstable();
        ids.dedup();
    }
    changes
}

/// Deletes feed rows written before `before`; returns how many.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    Sql::new("DELETE FROM search_changes WHERE changed_at < $1")
        .bind(before)
        .execute(conn)
}
