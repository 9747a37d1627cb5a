//! Storage: one diesel query code base over PostgreSQL and SQLite.
//!
//! The URL picks the backend; queries take `&mut DbConnection` and run inside `web::block`
//! (see [`Database::run`]) so that blocking database I/O never stalls the async workers.

pub mod schema;
pub mod sql;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

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
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl, busy_timeout_ms: u64) -> Self {
        Self {
            url,
            busy_timeout_ms,
        }
    }

    pub fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // busy_timeout first: the other pragmas may already need to wait for a lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
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

/// SQLite has one writer at a time, and a writer that finds the file locked sleeps in SQLite's
/// busy handler in steps of up to 100 ms, however soon the lock is free again: under load most
/// of the time went to sleeping writers. Within one process, write transactions therefore queue
/// on this mutex, and the next one starts as soon as the previous one commits. They all run on
/// the one connection it guards: a connection's page cache is emptied whenever another connection
/// has written, so a pool of writers kept re-reading the same pages; the single writer's cache
/// stays warm. Other processes on the same file still meet the busy timeout.
/// It reaches `write_transaction` through a thread-local, set by [`Database::run`] for the work
/// it runs, so that queries keep taking a plain `&mut DbConnection`.
#[derive(Clone)]
struct WriterGate(Arc<SqliteWriter>);

struct SqliteWriter {
    manager: ConnectionManager,
    /// Opened on first use, and again after a transaction left it broken.
    conn: std::sync::Mutex<Option<DbConnection>>,
}

/// How often the write-ahead log is copied back into the SQLite file (see [`checkpoint_loop`]).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

impl WriterGate {
    fn new(manager: ConnectionManager) -> Self {
        let gate = WriterGate(Arc::new(SqliteWriter {
            manager,
            conn: std::sync::Mutex::new(None),
        }));
        let writer = Arc::downgrade(&gate.0);
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(writer));
        if let Err(error) = spawned {
            tracing::warn!(%error, "no checkpoint thread: the writer will checkpoint as it commits");
        }
        gate
    }

    fn open_writer(&self) -> Result<DbConnection, diesel::result::Error> {
        let mut conn = self.0.manager.connect().map_err(|e| {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                Box::new(format!("cannot open the SQLite writer connection: {e}")),
            )
        })?;
        // Checkpoints run on their own thread rather than inside a writer's turn.
        if thread_checkpoints_running(&self.0) {
            conn.batch_execute("PRAGMA wal_autocheckpoint = 0")?;
        }
        // A log that was started over is cut back to this size (it is reused, not regrown).
        conn.batch_execute("PRAGMA journal_size_limit = 67108864")?;
        Ok(conn)
    }

    fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        let mut slot = self.0.conn.lock().unwrap_or_else(|poisoned| {
            // A writer panicked mid-transaction: start over on a fresh connection.
            let mut slot = poisoned.into_inner();
            *slot = None;
            slot
        });
        let conn = match &mut *slot {
            Some(conn) => conn,
            empty => empty.insert(self.open_writer()?),
        };
        let outcome = sqlite_immediate_transaction(conn, work);
        let broken = match conn {
            DbConnection::Sqlite(lite) => {
                AnsiTransactionManager::is_broken_transaction_manager(lite)
            }
            DbConnection::Postgres(_) => true,
        };
        if broken {
            *slot = None;
        }
        outcome
    }
}

/// Whether the checkpoint thread holds on to this writer (it holds a weak reference).
fn thread_checkpoints_running(writer: &Arc<SqliteWriter>) -> bool {
    Arc::weak_count(writer) > 0
}

/// Past this many frames (16 MB at 4 KB pages) the write-ahead log is started over; see
/// [`checkpoint_loop`].
const RESTART_LOG_AFTER_FRAMES: i32 = 4_096;

/// How long that restart waits for readers to leave the log, holding up writers meanwhile.
const RESTART_WAITS_FOR_READERS_MS: u64 = 50;

/// What `PRAGMA wal_checkpoint` answers.
#[derive(QueryableByName)]
struct CheckpointResult {
    /// Frames in the write-ahead log.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
}

/// Copies the write-ahead log back into the database file every [`CHECKPOINT_EVERY`], for as
/// long as the writer lives. SQLite would otherwise do it inside the commit that fills the log,
/// holding up every writer queued behind it. PASSIVE never waits for readers or the writer;
/// what it cannot copy now it copies next time.
///
/// But SQLite starts the log over only after a checkpoint has copied all of it, which a passive
/// one never does while writes keep coming: under a steady stream of orders the log grew by
/// 250 MB a second, towards a full disk. Once it is past [`RESTART_LOG_AFTER_FRAMES`], the
/// checkpoint runs on the writer's connection, holding the writers' gate, and waits (briefly) for
/// readers to leave the log (RESTART): the next write starts it over.
fn checkpoint_loop(writer: std::sync::Weak<SqliteWriter>) {
    let mut conn: Option<DbConnection> = None;
    loop {
        std::thread::sleep(CHECKPOINT_EVERY);
        let Some(alive) = writer.upgrade() else {
            return;
        };
        if conn.is_none() {
            conn = alive.manager.connect().ok();
        }
        drop(alive);
        let Some(open) = conn.as_mut() else { continue };
        let passive = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .get_result::<CheckpointResult>(open);
        let log_frames = match passive {
            Ok(result) => result.log,
            Err(error) => {
                tracing::warn!(%error, "SQLite checkpoint failed; retrying on a new connection");
                conn = None;
                continue;
            }
        };
        if log_frames > RESTART_LOG_AFTER_FRAMES
            && let Some(alive) = writer.upgrade()
        {
            let mut slot = alive
                .conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(writer_conn) = slot.as_mut() {
                // Readers still on the log are waited for briefly: one that keeps its snapshot
                // longer (a long report) must not hold up every writer for the busy timeout. The
                // checkpoint then copies what it can, and a later tick starts the log over.
                let restart = writer_conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {RESTART_WAITS_FOR_READERS_MS}; \
                     PRAGMA wal_checkpoint(RESTART);"
                ));
                let restored = writer_conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}",
                    alive.manager.busy_timeout_ms
                ));
                if let Err(error) = restart.and(restored) {
                    tracing::warn!(%error, "SQLite checkpoint could not start the log over");
                    *slot = None;
                }
            }
        }
    }
}

thread_local! {
    static WRITER_GATE: std::cell::RefCell<Option<WriterGate>> = const { std::cell::RefCell::new(None) };
}

/// Installs a gate for the current thread until dropped.
struct GateScope;

impl GateScope {
    fn enter(gate: Option<WriterGate>) -> Self {
        WRITER_GATE.with(|g| *g.borrow_mut() = gate);
        GateScope
    }
}

impl Drop for GateScope {
    fn drop(&mut self) {
        WRITER_GATE.with(|g| *g.borrow_mut() = None);
    }
}

impl Database {
    /// Builds the pool. Connections are opened lazily so that a server can start (and answer
    /// `/readyz` with 503) while its database is still down.
    pub fn connect(url: DatabaseUrl, options: &PoolOptions) -> anyhow::Result<Self> {
        let manager =
            ConnectionManager::new(url.clone(), options.sqlite_busy_timeout.as_millis() as u64);
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
        actix_web::web::block(move || {
            let mut conn = database.get()?;
            let _gate = GateScope::enter(database.writer_gate.clone());
            let outcome = work(&mut conn);
            if matches!(outcome, Err(AppError::Unavailable(_))) {
                conn.mark_broken();
            }
            outcome
        })
        .await?
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
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Postgres(_) => conn.transaction(work),
        DbConnection::Sqlite(_) => {
            // Taken out of the thread-local while held: a nested call finds no gate and fails on
            // BEGIN (as SQLite would anyway) instead of deadlocking on the mutex.
            let gate = WRITER_GATE.with(|g| g.borrow_mut().take());
            let outcome = match &gate {
                Some(gate) => gate.write(work),
                None => sqlite_immediate_transaction(conn, work),
            };
            WRITER_GATE.with(|g| *g.borrow_mut() = gate);
            outcome
        }
    }
}

fn sqlite_immediate_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(lite) = conn else {
        unreachable!("called for SQLite connections only")
    };
    AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?;
    let outcome = work(conn);
    let DbConnection::Sqlite(lite) = conn else {
        unreachable!("the connection cannot change backend")
    };
    match outcome {
        Ok(value) => {
            if let Err(commit_error) = AnsiTransactionManager::commit_transaction(lite) {
                let _ = AnsiTransactionManager::rollback_transaction(lite);
                return Err(commit_error.into());
            }
            Ok(value)
        }
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(lite)?;
            Err(error)
        }
    }
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
}
