//! Storage: one diesel query code base over PostgreSQL and SQLite.
//!
//! The URL picks the backend; queries take `&mut DbConnection` and run inside `web::block`
//! (see [`Database::run`]) so that blocking database I/O never stalls the async workers.

pub mod request_writes;
pub mod schema;
pub mod sql;
mod sqlite_writer;
pub mod text;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use crate::config::SqliteSynchronous;
use crate::error::AppError;
use request_writes::{ClaimScope, request_claim};
pub use sqlite_writer::{CommitWrite, write_at_commit};
use sqlite_writer::{GateScope, WriterGate, sqlite_immediate_transaction, write_on_gate};

pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Arbitrary but fixed key of the PostgreSQL advisory lock that serialises migrations
/// between server processes starting at the same time.
const MIGRATION_LOCK_KEY: i64 = 0x006e_6f6e_6773_616e; // "nongsan" in ASCII

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// `postgres://` and `postgresql://` are PostgreSQL; anything else is a SQLite file path,
    /// with an optional `sqlite://` prefix.
    pub fn parse(url: &str) -> Self {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseUrl::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            DatabaseUrl::Sqlite(PathBuf::from(path))
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }

    /// A description safe to log: no password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite file {}", path.display()),
            DatabaseUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    format!("{}://***{}", &url[..scheme_end], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }
}

/// Opens connections for the pool. Our own manager rather than diesel's so that the real
/// connection error reaches the log, and so that every SQLite connection gets its pragmas.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    busy_timeout_ms: u64,
    synchronous: SqliteSynchronous,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl, busy_timeout_ms: u64, synchronous: SqliteSynchronous) -> Self {
        Self {
            url,
            busy_timeout_ms,
            synchronous,
        }
    }

    pub fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // busy_timeout first: the other pragmas may already need to wait for a lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms,
                    self.synchronous.pragma()
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection, marked broken when a query on it found the database gone, so that the
/// pool drops it instead of lending it again (cheaper than testing every connection on loan).
pub struct ManagedConnection {
    conn: DbConnection,
    broken: bool,
}

impl std::ops::Deref for ManagedConnection {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for ManagedConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl ManagedConnection {
    pub fn mark_broken(&mut self) {
        self.broken = true;
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = ManagedConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<ManagedConnection, ConnectionError> {
        ConnectionManager::connect(self).map(|conn| ManagedConnection {
            conn,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut ManagedConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, managed: &mut ManagedConnection) -> bool {
        if managed.broken {
            return true;
        }
        match &mut managed.conn {
            DbConnection::Postgres(c) => {
                // A connection dropped by the server is only noticed on use; a failed
                // transaction left open would poison the next borrower.
                AnsiTransactionManager::is_broken_transaction_manager(c)
            }
            DbConnection::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    pub connect_timeout: Duration,
    pub sqlite_busy_timeout: Duration,
    pub sqlite_synchronous: SqliteSynchronous,
}

/// The application's handle on its database: a pool plus which backend it is.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    url: DatabaseUrl,
    /// Requests waiting for a connection right now (r2d2 does not count them).
    waiting: Arc<AtomicI64>,
    /// SQLite only: this process's writers take turns here (see [`WriterGate`]).
    writer_gate: Option<WriterGate>,
}

impl Database {
    /// Builds the pool. Connections are opened lazily so that a server can start (and answer
    /// `/readyz` with 503) while its database is still down.
    pub fn connect(url: DatabaseUrl, options: &PoolOptions) -> anyhow::Result<Self> {
        let manager = ConnectionManager::new(
            url.clone(),
            options.sqlite_busy_timeout.as_millis() as u64,
            options.sqlite_synchronous,
        );
        if let DatabaseUrl::Sqlite(path) = &url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("cannot create directory {}: {e}", dir.display())
                })?;
            }
            // WAL is a property of the file: set it once, before the pool opens connections.
            let mut conn = manager
                .connect()
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", url.redacted()))?;
            conn.batch_execute("PRAGMA journal_mode = WAL")?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            // A connection the server dropped (restart, failover) is noticed on use and then
            // discarded (see `Database::run`), so an outage heals by itself once the database is back.
            .test_on_check_out(false)
            .build_unchecked(manager.clone());
        let writer_gate = (!url.is_postgres()).then(|| WriterGate::new(manager));
        Ok(Self {
            pool,
            url,
            waiting: Arc::default(),
            writer_gate,
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn waiting(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed)
    }

    pub fn get(&self) -> Result<PooledConnection, AppError> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let conn = self.pool.get();
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        Ok(conn?)
    }

    /// Runs blocking database work on actix's blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let database = self.clone();
        let claim = request_claim();
        actix_web::web::block(move || {
            // A request given up while this waited for a thread does no work at all.
            if claim.as_ref().is_some_and(|c| c.is_abandoned()) {
                return Err(AppError::Unavailable(crate::error::ABANDONED_WRITE.into()));
            }
            let _claim = ClaimScope::enter(claim);
            database.run_blocking(work)
        })
        .await?
    }

    /// [`run`](Self::run) on the calling thread, which must be one that may block. Write
    /// transactions in `work` go to SQLite's writer like those of `run`, rather than competing
    /// with it for the file's lock from a pooled connection.
    pub fn run_blocking<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
    {
        let mut conn = self.get()?;
        let _gate = GateScope::enter(self.writer_gate.clone());
        let outcome = work(&mut conn);
        if matches!(outcome, Err(AppError::Unavailable(_))) {
            conn.mark_broken();
        }
        outcome
    }

    /// Runs `work` as one write transaction (see [`write_transaction`]). On SQLite it goes to
    /// the writer's group commit (see [`WriterGate`]): no pooled connection and no blocking
    /// thread waits with it meanwhile.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let work = match &self.writer_gate {
            Some(gate) => match gate.submit(work, request_claim()) {
                Ok(answer) => {
                    return answer.await.unwrap_or_else(|_| {
                        Err(AppError::Unavailable(
                            "the SQLite writer has stopped".into(),
                        ))
                    });
                }
                Err(work) => work,
            },
            None => work,
        };
        self.run(move |conn| write_transaction(conn, work)).await
    }

    /// Applies pending migrations; see [`run_migrations`].
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self.pool.get().map_err(|e| {
            anyhow::anyhow!("database {} does not answer: {e}", self.url.redacted())
        })?;
        run_migrations(&mut conn)
    }
}

/// Applies the embedded migrations of the connection's backend and returns the names of those
/// applied. On PostgreSQL an advisory lock makes servers that start together take turns.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Postgres(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(|v| v.to_string()).collect::<Vec<_>>());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(pg)?;
            result
        }
        DbConnection::Sqlite(lite) => lite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(|v| v.to_string()).collect::<Vec<_>>()),
    };
    applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
}

/// The data work migrations left for the code (`pending_data_work`): named tasks not yet complete.
pub fn pending_work(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    use schema::pending_data_work::dsl::*;
    pending_data_work.select(name).order(name).load(conn)
}

/// Records that a task of [`pending_work`] is complete.
pub fn finish_work(conn: &mut DbConnection, task: &str) -> QueryResult<usize> {
    use schema::pending_data_work::dsl::*;
    diesel::delete(pending_data_work.filter(name.eq(task))).execute(conn)
}

/// Inserts many rows (a slice or `Vec`) through the backend's own connection, the fastest way
/// each has: PostgreSQL's binary `COPY FROM STDIN` (no statement to parse, no parameters to bind;
/// the rows' `Option`s must be written as NULL, `treat_none_as_default_value = false`), and a
/// multi-row INSERT on SQLite.
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres(pg) => {
                diesel::copy_from($table).from_insertable($rows).execute(pg)
            }
            $crate::db::DbConnection::Sqlite(lite) => {
                diesel::insert_into($table).values($rows).execute(lite)
            }
        }
    };
}
pub(crate) use bulk_insert;

/// Runs `work` in a write transaction: `BEGIN IMMEDIATE` on SQLite (a plain `BEGIN` that later
/// writes fails with "database is locked" under load), the default `BEGIN` on PostgreSQL.
/// On SQLite, inside [`Database::run`], `work` runs on this process's single writer connection
/// once it is its turn (see [`WriterGate`]), not on `conn`; it must not start another write
/// transaction.
///
/// A request given up by its timeout before this starts gets an error and writes nothing; once
/// it has started, the request waits for it (see [`request_writes`]).
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if !request_writes::start_write_on_this_thread() {
        return Err(abandoned_write().into());
    }
    match conn {
        DbConnection::Postgres(_) => conn.transaction(work),
        DbConnection::Sqlite(_) => match write_on_gate(work) {
            Ok(outcome) => outcome,
            Err(work) => sqlite_immediate_transaction(conn, work),
        },
    }
}

pub(crate) fn abandoned_write() -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(crate::error::ABANDONED_WRITE.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert!(DatabaseUrl::parse("postgres://u@h/db").is_postgres());
        assert!(DatabaseUrl::parse("postgresql://u@h/db").is_postgres());
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db"),
            DatabaseUrl::Sqlite(PathBuf::from("data/x.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("data/nongsan.db"),
            DatabaseUrl::Sqlite(PathBuf::from("data/nongsan.db"))
        );
    }

    #[test]
    fn redacted_urls_hide_the_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.example:5432/nongsan");
        assert_eq!(url.redacted(), "postgres://***@db.example:5432/nongsan");
    }

    /// A fresh SQLite database in the temporary directory, with `schema` applied, and its path.
    async fn sqlite_database(name: &str, schema: &'static str) -> (Database, PathBuf) {
        let path = std::env::temp_dir().join(format!("nongsan-{name}-{}.db", uuid::Uuid::new_v4()));
        let options = PoolOptions {
            max_size: 8,
            connect_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::Full,
        };
        let db = Database::connect(DatabaseUrl::Sqlite(path.clone()), &options).unwrap();
        db.run(move |conn| Ok(conn.batch_execute(schema)?))
            .await
            .unwrap();
        (db, path)
    }

    fn remove_sqlite_database(db: Database, path: &std::path::Path) {
        drop(db);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    const BLOBS: &str = "CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)";

    /// Writes a random blob of `bytes` through the gate, keeping only the last twenty.
    async fn write_blob(db: &Database, bytes: u64) {
        db.run(move |conn| {
            write_transaction(conn, |conn| {
                conn.batch_execute(&format!(
                    "INSERT INTO blobs (body) VALUES (randomblob({bytes})); \
                     DELETE FROM blobs WHERE id < (SELECT max(id) - 20 FROM blobs)"
                ))?;
                Ok::<_, AppError>(())
            })
        })
        .await
        .unwrap();
    }

    /// Under writes that never pause, the write-ahead log is still started over now and then
    /// instead of growing without bound (it grew by 250 MB a second under the order benchmark).
    #[actix_web::test]
    async fn the_sqlite_log_stays_bounded_under_endless_writes() {
        let (db, path) = sqlite_database("wal", BLOBS).await;
        const BLOB: u64 = 256 * 1024;
        const ENOUGH: u64 = 1024 * 1024 * 1024;
        let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let writer = |db: Database, written: Arc<std::sync::atomic::AtomicU64>| async move {
            while written.load(Ordering::Relaxed) < ENOUGH && std::time::Instant::now() < deadline {
                write_blob(&db, BLOB).await;
                written.fetch_add(BLOB, Ordering::Relaxed);
            }
        };
        let reader = |db: Database, written: Arc<std::sync::atomic::AtomicU64>| async move {
            while written.load(Ordering::Relaxed) < ENOUGH && std::time::Instant::now() < deadline {
                db.run(|conn| Ok(conn.batch_execute("SELECT count(*) FROM blobs")?))
                    .await
                    .unwrap();
            }
        };
        futures_util::future::join3(
            writer(db.clone(), written.clone()),
            writer(db.clone(), written.clone()),
            reader(db.clone(), written.clone()),
        )
        .await;
        let log = std::fs::metadata(format!("{}-wal", path.display()))
            .unwrap()
            .len();
        let written = written.load(Ordering::Relaxed);
        assert!(
            written > 4 * (64 << 20),
            "only {written} bytes were written"
        );
        // Bounded by what is written between two checkpoints, not by all that was written.
        assert!(
            log <= 256 << 20,
            "the log grew to {log} bytes for {written} written"
        );
        remove_sqlite_database(db, &path);
    }

    /// A reader that keeps its snapshot for seconds (a long report) while the log is due to be
    /// started over holds up writers for a moment at most, not for the busy timeout each time.
    #[actix_web::test]
    async fn a_long_reader_does_not_stall_writers_at_the_log_restart() {
        let (db, path) = sqlite_database("reader", BLOBS).await;
        // The reader: a read transaction on its own connection, open for four seconds.
        let mut reader = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        reader
            .batch_execute("BEGIN; SELECT count(*) FROM blobs;")
            .unwrap();
        let started = std::time::Instant::now();
        let mut slowest = Duration::ZERO;
        while started.elapsed() < Duration::from_secs(4) {
            let write = std::time::Instant::now();
            write_blob(&db, 256 * 1024).await;
            slowest = slowest.max(write.elapsed());
        }
        reader.batch_execute("COMMIT").unwrap();
        // Far from the 5 s busy timeout; a write itself takes milliseconds.
        assert!(
            slowest < Duration::from_secs(2),
            "a write waited {slowest:?}"
        );
        remove_sqlite_database(db, &path);
    }

    /// Writers queue at the gate and run on its one connection; none is lost, a nested write
    /// transaction fails instead of deadlocking, and the gate keeps working after it.
    #[actix_web::test]
    async fn sqlite_writers_take_turns_on_one_connection() {
        let (db, path) = sqlite_database(
            "gate",
            "CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);",
        )
        .await;
        let increment = |db: Database| async move {
            db.run(|conn| {
                write_transaction(conn, |conn| {
                    conn.batch_execute("UPDATE counter SET n = n + 1")?;
                    Ok::<_, AppError>(())
                })
            })
            .await
        };
        let writes = futures_util::future::join_all((0..200).map(|_| increment(db.clone()))).await;
        assert!(writes.iter().all(Result::is_ok));
        let nested = db
            .run(|conn| {
                write_transaction(conn, |conn| {
                    write_transaction(conn, |_| Ok::<_, AppError>(()))
                })
            })
            .await;
        assert!(
            nested.is_err(),
            "a write transaction inside another must fail"
        );
        increment(db.clone()).await.unwrap();
        let count: i64 = db
            .run(|conn| {
                Ok(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                        "(SELECT n FROM counter)",
                    ))
                    .get_result(conn)?,
                )
            })
            .await
            .unwrap();
        assert_eq!(count, 201);
        remove_sqlite_database(db, &path);
    }

    #[derive(QueryableByName)]
    struct Synchronous {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        synchronous: i32,
    }

    fn synchronous_of(conn: &mut DbConnection) -> QueryResult<i32> {
        Ok(diesel::sql_query("PRAGMA synchronous")
            .get_result::<Synchronous>(conn)?
            .synchronous)
    }

    /// The writer's connection, where SQLite commits, syncs every commit by default (FULL = 2),
    /// both for grouped writes and single ones; NORMAL (1) only when configured.
    #[actix_web::test]
    async fn sqlite_commits_are_synced_to_disk_unless_configured_otherwise() {
        assert_eq!(
            crate::config::Settings::defaults()
                .database
                .sqlite_synchronous,
            SqliteSynchronous::Full
        );
        for (setting, expected) in [(SqliteSynchronous::Full, 2), (SqliteSynchronous::Normal, 1)] {
            let path =
                std::env::temp_dir().join(format!("nongsan-sync-{}.db", uuid::Uuid::new_v4()));
            let options = PoolOptions {
                max_size: 2,
                connect_timeout: Duration::from_secs(5),
                sqlite_busy_timeout: Duration::from_secs(5),
                sqlite_synchronous: setting,
            };
            let db = Database::connect(DatabaseUrl::Sqlite(path.clone()), &options).unwrap();
            let grouped = db.write(|conn| Ok(synchronous_of(conn)?)).await.unwrap();
            let single = db
                .run(|conn| {
                    write_transaction(conn, |conn| Ok::<_, AppError>(synchronous_of(conn)?))
                })
                .await
                .unwrap();
            assert_eq!((grouped, single), (expected, expected), "{setting:?}");
            remove_sqlite_database(db, &path);
        }
    }

    /// A counter update left for the commit and merged across a group, as the rollups are.
    struct AddToTally(i64);

    impl CommitWrite for AddToTally {
        fn absorb(&mut self, later: Box<dyn std::any::Any>) {
            if let Ok(later) = later.downcast::<AddToTally>() {
                self.0 += later.0;
            }
        }

        fn write(self: Box<Self>, conn: &mut DbConnection) -> QueryResult<()> {
            conn.batch_execute(&format!("UPDATE tally SET n = n + {}", self.0))
        }
    }

    /// An update whose write fails, and with it the commit of its group.
    struct FailsAtCommit;

    impl CommitWrite for FailsAtCommit {
        fn absorb(&mut self, _later: Box<dyn std::any::Any>) {}

        fn write(self: Box<Self>, conn: &mut DbConnection) -> QueryResult<()> {
            conn.batch_execute("INSERT INTO no_such_table VALUES (1)")
        }
    }

    const ITEMS: &str = "CREATE TABLE items (n INTEGER PRIMARY KEY); \
                         CREATE TABLE tally (n INTEGER NOT NULL); INSERT INTO tally VALUES (0);";

    #[derive(QueryableByName)]
    struct Item {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// The stored items and the tally.
    async fn items_and_tally(db: &Database) -> (Vec<i64>, i64) {
        db.run(|conn| {
            use diesel::dsl::sql;
            use diesel::sql_types::BigInt;
            let items = diesel::sql_query("SELECT n FROM items ORDER BY n")
                .load::<Item>(conn)?
                .into_iter()
                .map(|item| item.n)
                .collect();
            let tally = diesel::select(sql::<BigInt>("(SELECT n FROM tally)")).get_result(conn)?;
            Ok((items, tally))
        })
        .await
        .unwrap()
    }

    /// Writes submitted together are committed in groups; one that fails is undone alone,
    /// with the counter updates it left for the commit, and the others are all stored.
    #[actix_web::test]
    async fn grouped_writes_fail_alone_and_the_rest_are_stored() {
        let (db, path) = sqlite_database("group", ITEMS).await;
        let writes = (0..300_i64).map(|i| {
            let db = db.clone();
            async move {
                db.write(move |conn| {
                    conn.batch_execute(&format!("INSERT INTO items VALUES ({i})"))?;
                    write_at_commit(conn, AddToTally(1))?;
                    // Fails after writing: its row and its tally must go.
                    if i % 7 == 0 {
                        return Err(AppError::not_found("item"));
                    }
                    Ok(i)
                })
                .await
            }
        });
        let outcomes = futures_util::future::join_all(writes).await;
        let kept: Vec<i64> = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok().copied())
            .collect();
        let expected: Vec<i64> = (0..300).filter(|i| i % 7 != 0).collect();
        assert_eq!(kept, expected);
        assert!(outcomes.iter().enumerate().all(|(i, o)| o.is_ok()
            || matches!(o, Err(AppError::Client { code: "not_found", .. }) if i % 7 == 0)));
        assert_eq!(
            items_and_tally(&db).await,
            (expected.clone(), expected.len() as i64)
        );
        remove_sqlite_database(db, &path);
    }

    /// When a group's commit fails, every write of the group fails and none is stored; the
    /// writer goes on. The group is made deterministic by holding the writer up with a first
    /// write until the others have queued behind it.
    #[actix_web::test]
    async fn a_failed_commit_fails_every_write_of_its_group() {
        let (db, path) = sqlite_database("commit", ITEMS).await;
        let (release, held) = std::sync::mpsc::channel::<()>();
        let blocker = actix_web::rt::spawn({
            let db = db.clone();
            async move {
                db.write(move |_| {
                    held.recv().ok();
                    Ok(())
                })
                .await
            }
        });
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        let insert = |n: i64, fails: bool| {
            let db = db.clone();
            async move {
                db.write(move |conn| {
                    conn.batch_execute(&format!("INSERT INTO items VALUES ({n})"))?;
                    write_at_commit(conn, AddToTally(1))?;
                    if fails {
                        write_at_commit(conn, FailsAtCommit)?;
                    }
                    Ok(())
                })
                .await
            }
        };
        let (first, second, ()) =
            futures_util::future::join3(insert(1, false), insert(2, true), async {
                actix_web::rt::time::sleep(Duration::from_millis(200)).await;
                release.send(()).unwrap();
            })
            .await;
        blocker.await.unwrap().unwrap();
        assert!(
            first.is_err(),
            "a write whose group did not commit was reported stored"
        );
        assert!(second.is_err());
        assert_eq!(items_and_tally(&db).await, (vec![], 0));
        insert(3, false).await.unwrap();
        assert_eq!(items_and_tally(&db).await, (vec![3], 1));
        remove_sqlite_database(db, &path);
    }

    /// A write that panics in its own transaction (not in a group) leaves nothing behind: the
    /// next group and the next single write both find a fresh connection.
    #[actix_web::test]
    async fn after_a_panicking_single_write_both_kinds_of_writes_go_on() {
        let (db, path) = sqlite_database("poison", ITEMS).await;
        let panicked = db
            .run(|conn| {
                write_transaction(conn, |conn| -> Result<(), AppError> {
                    conn.batch_execute("INSERT INTO items VALUES (1)")?;
                    panic!("a bug in a write")
                })
            })
            .await;
        assert!(panicked.is_err());
        db.write(|conn| Ok(conn.batch_execute("INSERT INTO items VALUES (2)")?))
            .await
            .unwrap();
        db.run(|conn| {
            write_transaction(conn, |conn| {
                Ok::<_, AppError>(conn.batch_execute("INSERT INTO items VALUES (3)")?)
            })
        })
        .await
        .unwrap();
        assert_eq!(items_and_tally(&db).await, (vec![2, 3], 0));
        remove_sqlite_database(db, &path);
    }

    /// A write that panics fails (as unavailable, nothing stored) instead of taking the writer
    /// down; the next write is stored.
    #[actix_web::test]
    async fn a_panicking_write_fails_and_the_writer_goes_on() {
        let (db, path) = sqlite_database("panic", ITEMS).await;
        let panicked = db
            .write(|conn| -> Result<(), AppError> {
                conn.batch_execute("INSERT INTO items VALUES (1)")?;
                panic!("a bug in a write")
            })
            .await;
        assert!(
            matches!(panicked, Err(AppError::Unavailable(_))),
            "{panicked:?}"
        );
        db.write(|conn| Ok(conn.batch_execute("INSERT INTO items VALUES (2)")?))
            .await
            .unwrap();
        assert_eq!(items_and_tally(&db).await, (vec![2], 0));
        remove_sqlite_database(db, &path);
    }
}
