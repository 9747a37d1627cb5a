//! SQLite's writer: the one connection this process writes on, the thread that commits the
//! writes that queue together as one group, and the thread that checkpoints the log.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tokio::sync::oneshot;

use super::request_writes::WriteClaim;
use super::{ConnectionManager, DbConnection};
use crate::error::AppError;
use crate::log_throttle::LogThrottle;

/// SQLite has one writer at a time, and a writer that finds the file locked sleeps in SQLite's
/// busy handler in steps of up to 100 ms, however soon the lock is free again: under load most
/// of the time went to sleeping writers. Within one process, writes therefore run in turn on
/// one connection: a connection's page cache is emptied whenever another connection has
/// written, so a pool of writers kept re-reading the same pages; the single writer's cache
/// stays warm. Other processes on the same file still meet the busy timeout.
///
/// Writes submitted whole ([`WriterGate::submit`], through `Database::write`: placing orders)
/// go to a thread of their own, which takes all that are waiting, runs each in a savepoint of
/// one transaction (a failed one is undone alone), writes their rollup counters merged
/// ([`CommitWrite`]) and commits once for all: group commit. No write is reported before its
/// commit; when the commit fails, every write of the group fails and none is stored.
/// One thread rather than turns on a mutex: handing the lock from thread to thread, and
/// threads losing the CPU while holding it, had left the writer idle for a third of the time.
///
/// Other writes (`write_transaction` inside `Database::run`) take the connection between two
/// groups, one transaction each; they reach it through a thread-local set by `Database::run`,
/// so that queries keep taking a plain `&mut DbConnection`.
#[derive(Clone)]
pub(super) struct WriterGate(Arc<SqliteWriter>);

struct SqliteWriter {
    shared: Arc<Shared>,
    /// To the group-commit thread; `None` if it could not be started.
    jobs: Option<mpsc::Sender<Box<dyn WriteJob>>>,
}

struct Shared {
    manager: ConnectionManager,
    /// Opened on first use, and again after a transaction left it broken.
    conn: Mutex<Option<DbConnection>>,
    /// Whether the checkpoint thread runs (otherwise SQLite checkpoints as it commits).
    checkpoints: AtomicBool,
}

/// At most this many writes share one commit (the first of them waits for the last).
const MAX_GROUP: usize = 64;

/// How often the write-ahead log is copied back into the SQLite file (see [`checkpoint_loop`]).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Past this many frames (16 MB at 4 KB pages) the write-ahead log is started over; see
/// [`checkpoint_loop`].
const RESTART_LOG_AFTER_FRAMES: i32 = 4_096;

/// How long that restart waits for readers to leave the log, holding up writers meanwhile.
const RESTART_WAITS_FOR_READERS_MS: u64 = 50;

/// Counter updates (the rollups) that can wait until just before their transaction commits. Those
/// of the writes of one group are merged, so that each row is written once per commit.
pub trait CommitWrite: Any + Send {
    /// Adds `later`'s updates to these; `later` is always of this same type.
    fn absorb(&mut self, later: Box<dyn Any>);
    fn write(self: Box<Self>, conn: &mut DbConnection) -> QueryResult<()>;
}

thread_local! {
    static WRITER_GATE: RefCell<Option<WriterGate>> = const { RefCell::new(None) };
    /// While a write runs on the writer: the counter updates it leaves for its commit.
    static DEFERRED: RefCell<Option<Vec<Box<dyn CommitWrite>>>> = const { RefCell::new(None) };
}

/// Writes `update` before the current write transaction commits: merged with the other writes
/// of its transaction on SQLite's writer, right away everywhere else. Only for updates that
/// nothing in the same transaction reads back.
pub fn write_at_commit<W: CommitWrite>(conn: &mut DbConnection, update: W) -> QueryResult<()> {
    let update = DEFERRED.with(|deferred| match deferred.borrow_mut().as_mut() {
        Some(waiting) => {
            merge_into(waiting, Box::new(update));
            None
        }
        None => Some(update),
    });
    match update {
        Some(update) => Box::new(update).write(conn),
        None => Ok(()),
    }
}

fn merge_into(all: &mut Vec<Box<dyn CommitWrite>>, update: Box<dyn CommitWrite>) {
    // Of the boxed values, not of the boxes.
    let kind = (*update).type_id();
    match all.iter_mut().find(|held| (***held).type_id() == kind) {
        Some(held) => held.absorb(update),
        None => all.push(update),
    }
}

/// Runs `work` collecting the updates it leaves for the commit.
fn deferring<R>(work: impl FnOnce() -> R) -> (R, Vec<Box<dyn CommitWrite>>) {
    DEFERRED.with(|d| *d.borrow_mut() = Some(Vec::new()));
    let outcome = work();
    let deferred = DEFERRED.with(|d| d.borrow_mut().take()).unwrap_or_default();
    (outcome, deferred)
}

/// Installs a gate for the current thread until dropped.
pub(super) struct GateScope;

impl GateScope {
    pub(super) fn enter(gate: Option<WriterGate>) -> Self {
        WRITER_GATE.with(|g| *g.borrow_mut() = gate);
        GateScope
    }
}

impl Drop for GateScope {
    fn drop(&mut self) {
        WRITER_GATE.with(|g| *g.borrow_mut() = None);
    }
}

/// Runs `work` on the gate this thread was given; gives `work` back if there is none.
pub(super) fn write_on_gate<T, E, F>(work: F) -> Result<Result<T, E>, F>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    // Taken out of the thread-local while held: a nested call finds no gate and fails on BEGIN
    // (as SQLite would anyway) instead of deadlocking on the mutex.
    let Some(gate) = WRITER_GATE.with(|g| g.borrow_mut().take()) else {
        return Err(work);
    };
    let outcome = gate.write(work);
    WRITER_GATE.with(|g| *g.borrow_mut() = Some(gate));
    Ok(outcome)
}

/// A write waiting for the group-commit thread.
trait WriteJob: Send {
    /// Runs the write on the writer's connection; whether it succeeded.
    fn run(&mut self, conn: &mut DbConnection) -> bool;
    /// Answers the caller once the group has ended (`Err`: the commit failed).
    fn finish(self: Box<Self>, group: &Result<(), (DatabaseErrorKind, String)>);
}

struct PendingWrite<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, AppError>>,
    reply: oneshot::Sender<Result<T, AppError>>,
    /// The request's claim: a write whose request was given up while it queued does not start.
    claim: Option<WriteClaim>,
}

impl<T, F> WriteJob for PendingWrite<T, F>
where
    T: Send,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection) -> bool {
        let work = self.work.take().expect("a write runs once");
        if !self.claim.as_ref().is_none_or(WriteClaim::start_write) {
            self.outcome = Some(Err(AppError::Unavailable(
                crate::error::ABANDONED_WRITE.into(),
            )));
            return false;
        }
        let outcome = work(conn);
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        succeeded
    }

    fn finish(self: Box<Self>, group: &Result<(), (DatabaseErrorKind, String)>) {
        let answer = match (self.outcome, group) {
            // A failed write was undone alone; its own error says why.
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err((kind, message))) => Err(AppError::from(DieselError::DatabaseError(
                *kind,
                Box::new(message.clone()),
            ))),
            (None, Ok(())) => Err(AppError::Unavailable("the write did not run".into())),
        };
        // The caller may have gone (the client hung up); the write stands all the same.
        let _ = self.reply.send(answer);
    }
}

impl WriterGate {
    pub(super) fn new(manager: ConnectionManager) -> Self {
        let shared = Arc::new(Shared {
            manager,
            conn: Mutex::new(None),
            checkpoints: AtomicBool::new(false),
        });
        let checkpointed = Arc::downgrade(&shared);
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointed));
        match spawned {
            Ok(_) => shared.checkpoints.store(true, Ordering::Relaxed),
            Err(error) => {
                tracing::warn!(%error, "no checkpoint thread: the writer will checkpoint as it commits")
            }
        }
        let (sender, receiver) = mpsc::channel();
        let writer = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || group_commit_loop(&writer, receiver));
        let jobs = match spawned {
            Ok(_) => Some(sender),
            Err(error) => {
                tracing::warn!(%error, "no group-commit thread: writes take turns instead");
                None
            }
        };
        WriterGate(Arc::new(SqliteWriter { shared, jobs }))
    }

    /// Hands `work` to the group-commit thread; the receiver gets its outcome after the commit.
    /// Gives `work` back if there is no such thread.
    pub(super) fn submit<T, F>(
        &self,
        work: F,
        claim: Option<WriteClaim>,
    ) -> Result<oneshot::Receiver<Result<T, AppError>>, F>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let Some(jobs) = &self.0.jobs else {
            return Err(work);
        };
        let (reply, receiver) = oneshot::channel();
        let job = PendingWrite {
            work: Some(work),
            outcome: None,
            reply,
            claim,
        };
        // If the thread has gone, the job is dropped with its sender and the receiver says so.
        let _ = jobs.send(Box::new(job));
        Ok(receiver)
    }

    /// Runs `work` in a transaction of its own on the writer's connection, between two groups.
    pub(super) fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<DieselError>,
    {
        let mut slot = self.0.shared.lock_writer();
        let conn = self.0.shared.writer(&mut slot)?;
        let outcome = sqlite_immediate_transaction(conn, |conn| {
            let (outcome, deferred) = deferring(|| work(conn));
            let value = outcome?;
            for update in deferred {
                update.write(conn)?;
            }
            Ok(value)
        });
        if is_broken(conn) {
            *slot = None;
        }
        outcome
    }
}

impl Shared {
    /// The writer's connection slot, for one write, one group or one checkpoint. After a write
    /// that panicked mid-transaction the slot is emptied once (the connection is closed, which
    /// rolls it back) and the lock is usable again; every holder used to meet the poison anew.
    fn lock_writer(&self) -> MutexGuard<'_, Option<DbConnection>> {
        self.conn.lock().unwrap_or_else(|poisoned| {
            let mut slot = poisoned.into_inner();
            *slot = None;
            self.conn.clear_poison();
            slot
        })
    }

    /// The open connection in `slot`, opened first if there is none.
    fn writer<'a>(&self, slot: &'a mut Option<DbConnection>) -> QueryResult<&'a mut DbConnection> {
        match slot {
            Some(conn) => Ok(conn),
            empty => Ok(empty.insert(self.open_writer()?)),
        }
    }

    fn open_writer(&self) -> Result<DbConnection, DieselError> {
        let mut conn = self.manager.connect().map_err(|e| {
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new(format!("cannot open the SQLite writer connection: {e}")),
            )
        })?;
        // Checkpoints run on their own thread rather than inside a writer's turn.
        if self.checkpoints.load(Ordering::Relaxed) {
            conn.batch_execute("PRAGMA wal_autocheckpoint = 0")?;
        }
        // A log that was started over is cut back to this size (it is reused, not regrown).
        conn.batch_execute("PRAGMA journal_size_limit = 67108864")?;
        Ok(conn)
    }
}

/// Takes every write that is waiting (up to [`MAX_GROUP`]) and commits them as one group, for
/// as long as the gate lives; the writes that arrive meanwhile make up the next group.
fn group_commit_loop(shared: &Shared, jobs: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut slot = shared.lock_writer();
        let ended = catch_unwind(AssertUnwindSafe(|| {
            run_group(shared, &mut slot, &mut group)
        }))
        .unwrap_or_else(|_| Err(DieselError::BrokenTransactionManager));
        let ended = match ended {
            Ok(()) => Ok(()),
            Err(error) => {
                // Closing the connection rolls back whatever the group left open.
                *slot = None;
                Err(error_parts(&error))
            }
        };
        drop(slot);
        for job in group {
            job.finish(&ended);
        }
    }
}

/// One transaction for the whole group: each write in a savepoint (when there are several),
/// then the merged counter updates of those that succeeded, then the commit.
fn run_group(
    shared: &Shared,
    slot: &mut Option<DbConnection>,
    group: &mut [Box<dyn WriteJob>],
) -> QueryResult<()> {
    let conn = shared.writer(slot)?;
    AnsiTransactionManager::begin_transaction_sql(sqlite(conn), "BEGIN IMMEDIATE")?;
    let savepoints = group.len() > 1;
    let mut deferred = Vec::new();
    let mut kept = 0;
    for job in group.iter_mut() {
        if savepoints {
            AnsiTransactionManager::begin_transaction(sqlite(conn))?;
        }
        let (succeeded, updates) = deferring(|| job.run(conn));
        if savepoints {
            match succeeded {
                true => AnsiTransactionManager::commit_transaction(sqlite(conn))?,
                // A write that failed may have made SQLite end the whole transaction itself
                // (a full disk does): the savepoint is gone, nothing of the group stands, and
                // the group fails as interrupted.
                false => AnsiTransactionManager::rollback_transaction(sqlite(conn))
                    .map_err(|_| DieselError::BrokenTransactionManager)?,
            }
            let depth = AnsiTransactionManager::transaction_manager_status_mut(sqlite(conn))
                .transaction_depth();
            if !matches!(depth, Ok(Some(depth)) if depth.get() == 1) {
                return Err(DieselError::BrokenTransactionManager);
            }
        }
        if succeeded {
            kept += 1;
            for update in updates {
                merge_into(&mut deferred, update);
            }
        }
    }
    if kept == 0 {
        return AnsiTransactionManager::rollback_transaction(sqlite(conn));
    }
    for update in deferred {
        update.write(conn)?;
    }
    AnsiTransactionManager::commit_transaction(sqlite(conn))
}

fn sqlite(conn: &mut DbConnection) -> &mut SqliteConnection {
    match conn {
        DbConnection::Sqlite(lite) => lite,
        DbConnection::Postgres(_) => unreachable!("the writer is a SQLite connection"),
    }
}

fn is_broken(conn: &mut DbConnection) -> bool {
    AnsiTransactionManager::is_broken_transaction_manager(sqlite(conn))
}

fn error_parts(error: &DieselError) -> (DatabaseErrorKind, String) {
    match error {
        DieselError::DatabaseError(kind, info) => (*kind, info.message().to_owned()),
        DieselError::BrokenTransactionManager => (
            DatabaseErrorKind::ClosedConnection,
            "the write was interrupted; nothing of it was stored".to_owned(),
        ),
        other => (DatabaseErrorKind::Unknown, other.to_string()),
    }
}

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
/// checkpoint runs on the writer's connection between two writes, and waits (briefly) for
/// readers to leave the log (RESTART): the next write starts it over.
fn checkpoint_loop(writer: std::sync::Weak<Shared>) {
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
                // Every tick meets a full disk until someone makes room.
                static FAILED: LogThrottle = LogThrottle::new(Duration::from_secs(10));
                if let Some(held_back) = FAILED.due() {
                    tracing::warn!(%error, held_back, "SQLite checkpoint failed; retrying on a new connection");
                }
                conn = None;
                continue;
            }
        };
        if log_frames > RESTART_LOG_AFTER_FRAMES
            && let Some(alive) = writer.upgrade()
        {
            let mut slot = alive.lock_writer();
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

/// `work` in a `BEGIN IMMEDIATE` transaction on `conn`, committed when it succeeds.
pub(super) fn sqlite_immediate_transaction<T, E, F>(
    conn: &mut DbConnection,
    work: F,
) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    AnsiTransactionManager::begin_transaction_sql(sqlite(conn), "BEGIN IMMEDIATE")?;
    let outcome = work(conn);
    let lite = sqlite(conn);
    match outcome {
        Ok(value) => {
            if let Err(commit_error) = AnsiTransactionManager::commit_transaction(lite) {
                let _ = AnsiTransactionManager::rollback_transaction(lite);
                return Err(commit_error.into());
            }
            Ok(value)
        }
        Err(error) => {
            // SQLite ends a transaction itself on some errors (a full disk): ROLLBACK then
            // fails, and the work's own error is the one that says why. The caller drops a
            // connection left in a transaction (`is_broken`).
            let _ = AnsiTransactionManager::rollback_transaction(lite);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(i64);

    impl CommitWrite for Count {
        fn absorb(&mut self, later: Box<dyn Any>) {
            if let Ok(later) = later.downcast::<Count>() {
                self.0 += later.0;
            }
        }

        fn write(self: Box<Self>, _conn: &mut DbConnection) -> QueryResult<()> {
            Ok(())
        }
    }

    struct Other;

    impl CommitWrite for Other {
        fn absorb(&mut self, _later: Box<dyn Any>) {}

        fn write(self: Box<Self>, _conn: &mut DbConnection) -> QueryResult<()> {
            Ok(())
        }
    }

    /// A group writes each kind of update once: the updates of one kind merge into one.
    #[test]
    fn updates_of_one_kind_merge_into_one() {
        let mut all: Vec<Box<dyn CommitWrite>> = Vec::new();
        merge_into(&mut all, Box::new(Count(1)));
        merge_into(&mut all, Box::new(Other));
        merge_into(&mut all, Box::new(Count(2)));
        assert_eq!(all.len(), 2);
        let first: Box<dyn Any> = all.remove(0);
        assert_eq!(first.downcast::<Count>().map(|c| c.0).ok(), Some(3));
    }
}
