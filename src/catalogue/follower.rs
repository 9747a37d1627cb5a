//! The one thread that writes a server's index: it builds the index from the database when it
//! must, then reads the change feed in order, round after round, and applies each round in one
//! commit that also records where the reading stands (so a restart goes on from there).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::{Index, IndexReader, IndexWriter};

use super::document::Fields;
use super::repo::{self, Position};
use super::{CatalogueOptions, INDEX_VERSION, Listing, ListingSource, SyncState};
use crate::db::Database;
use crate::log_throttle::LogThrottle;

/// Products read per batch while building.
const BUILD_BATCH: i64 = 5_000;
/// Most listings one segment of a new index is merged into (see [`Follower::merge_built`]).
const MERGED_LISTINGS_MAX: u32 = 500_000;
/// Products read per statement while following.
const IDS_PER_READ: usize = 1_000;
/// How often feed rows past their retention are deleted (by every server; the work is idempotent).
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// A position that moved without any change is recorded at most this often.
const IDLE_COMMIT_EVERY: Duration = Duration::from_secs(60);

/// How long the follower waits after a round that failed before it tries again.
const PAUSE_AFTER_FAILED_ROUND: Duration = Duration::from_millis(500);

/// Rounds fail one after another while the database is down or the disk full.
static FOLLOWING_FAILED: LogThrottle = LogThrottle::new(Duration::from_secs(10));

/// What each commit records.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    version: u32,
    database: String,
    position: Position,
    /// Seconds since the epoch.
    saved_at: i64,
}

/// The saved reading of an existing index, if it has one.
pub fn saved_position(index: &Index) -> Option<Saved> {
    let payload = index.load_metas().ok()?.payload?;
    serde_json::from_str(&payload).ok()
}

pub struct Follower {
    db: Database,
    source: Arc<dyn ListingSource>,
    writer: IndexWriter,
    reader: IndexReader,
    fields: Fields,
    options: CatalogueOptions,
    position: Position,
    committed_position: Position,
    committed_at: Instant,
    pruned_at: Option<Instant>,
}

impl Follower {
    /// The parts of a follower that say what it follows and writes.
    pub fn new(
        (db, source): (Database, Arc<dyn ListingSource>),
        (writer, reader, fields): (IndexWriter, IndexReader, Fields),
        options: CatalogueOptions,
    ) -> Self {
        Follower {
            db,
            source,
            writer,
            reader,
            fields,
            options,
            position: 0,
            committed_position: 0,
            committed_at: Instant::now(),
            pruned_at: None,
        }
    }

    /// Goes on from `saved` when it is of this version and database and recent enough that the
    /// feed still holds what came after it; otherwise builds the index anew. Then catches up.
    pub fn prepare(&mut self, saved: Option<Saved>) -> anyhow::Result<()> {
        let now = chrono::Utc::now().timestamp();
        let fresh_enough = |s: &Saved| {
            let age = Duration::from_secs(now.saturating_sub(s.saved_at).max(0) as u64);
            age < self.options.change_retention / 2
        };
        match saved {
            Some(s)
                if s.version == INDEX_VERSION
                    && s.database == self.options.database_identity
                    && fresh_enough(&s) =>
            {
                self.position = s.position;
                self.committed_position = s.position;
            }
            _ => self.build()?,
        }
        // An index that is there serves, even when the rest cannot be read in now (the disk is
        // full, say): the follower goes on trying.
        if let Err(error) = self.catch_up() {
            tracing::warn!(
                error = format!("{error:#}"),
                "the catalogue index could not catch up at start; it goes on trying"
            );
        }
        Ok(())
    }

    /// Rounds until the feed has nothing more, or one fails (it was undone: see [`Self::undo`]).
    fn catch_up(&mut self) -> anyhow::Result<()> {
        while self.round()? {}
        Ok(())
    }

    /// Every listed product, read in id order, into an emptied index.
    fn build(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let source = self.source.clone();
        let (position, total) = self.db.run_blocking(|conn| {
            let position = repo::position_now(conn)?;
            let total = source
                .count(conn)
                .map_err(crate::error::AppError::Internal)?;
            Ok((position, total))
        })?;
        self.writer.delete_all_documents()?;
        // Merged once at the end instead (below).
        self.writer.set_merge_policy(Box::new(NoMergePolicy));
        let progress =
            indicatif::ProgressBar::new(total.max(0) as u64).with_message("indexing the catalogue");
        let mut after: Option<String> = None;
        let mut indexed = 0u64;
        loop {
            let source = self.source.clone();
            let from = after.clone();
            let (batch, last): (Vec<Listing>, _) = self.db.run_blocking(move |conn| {
                source
                    .listings_after(conn, from.as_deref(), BUILD_BATCH)
                    .map_err(crate::error::AppError::Internal)
            })?;
            let Some(last) = last else { break };
            after = Some(last);
            for listing in &batch {
                self.writer.add_document(self.fields.document(listing))?;
            }
            let before = indexed;
            indexed += batch.len() as u64;
            progress.set_position(indexed);
            if indexed / 100_000 > before / 100_000 {
                tracing::info!(indexed, total, "building the catalogue index");
            }
        }
        progress.finish_and_clear();
        self.position = position;
        self.commit()?;
        self.merge_built()?;
        crate::memory::release_freed_memory();
        self.writer
            .set_merge_policy(Box::new(LogMergePolicy::default()));
        tracing::info!(
            products = indexed,
            seconds = started.elapsed().as_secs_f64(),
            "built the catalogue index"
        );
        Ok(())
    }

    /// Merges the segments a build wrote into as few as possible before serving: searches
    /// visit fewer segments, and the merges the writer would otherwise run in the background
    /// no longer take the CPU from the first buyers. A merge reads its segments through their
    /// memory maps, and every page it reads counts in the server's memory until the segments
    /// are let go: so at most [`MERGED_LISTINGS_MAX`] listings go into one segment (a million
    /// listings make two), and each group's segments are let go before the next is merged.
    fn merge_built(&mut self) -> anyhow::Result<()> {
        let segments = self.writer.index().searchable_segment_metas()?;
        let total: u32 = segments.iter().map(|segment| segment.num_docs()).sum();
        // As many groups as the limit asks for, each of about the same number of listings.
        let per_group = total.div_ceil(total.div_ceil(MERGED_LISTINGS_MAX).max(1));
        let mut groups: Vec<Vec<_>> = vec![Vec::new()];
        let mut listings = 0;
        for segment in segments {
            if listings >= per_group {
                groups.push(Vec::new());
                listings = 0;
            }
            listings += segment.num_docs();
            groups
                .last_mut()
                .expect("one group at least")
                .push(segment.id());
        }
        for group in groups.into_iter().filter(|group| group.len() > 1) {
            // Not fatal: the index is whole either way, only in more segments.
            if let Err(error) = self.writer.merge(&group).wait() {
                tracing::warn!(%error, "could not merge the new catalogue index");
                break;
            }
            self.reader.reload()?;
        }
        Ok(())
    }

    /// Reads one page of the feed and applies it; `true` when a full page was read (more may
    /// be waiting).
    fn round(&mut self) -> anyhow::Result<bool> {
        let source = self.source.clone();
        let from = self.position;
        let (changes, listings) = self.db.run_blocking(move |conn| {
            let changes = repo::changes_since(conn, from)?;
            let mut listings = Vec::new();
            for products in changes.product_ids.chunks(IDS_PER_READ) {
                listings.extend(
                    source
                        .listings(conn, products, &[])
                        .map_err(crate::error::AppError::Internal)?,
                );
            }
            for households in changes.household_ids.chunks(IDS_PER_READ) {
                listings.extend(
                    source
                        .listings(conn, &[], households)
                        .map_err(crate::error::AppError::Internal)?,
                );
            }
            Ok((changes, listings))
        })?;
        let applied = self.apply(&changes, &listings);
        if applied.is_err() {
            self.undo();
        }
        applied.map(|()| changes.more)
    }

    /// Applies one round's changes and commits them with the position they bring the reading to.
    fn apply(&mut self, changes: &repo::Changes, listings: &[Listing]) -> anyhow::Result<()> {
        let changed = !changes.product_ids.is_empty() || !changes.household_ids.is_empty();
        for id in &changes.product_ids {
            self.writer.delete_term(self.fields.id_term(id));
        }
        for household in &changes.household_ids {
            self.writer
                .delete_term(self.fields.household_term(household));
        }
        let mut added = std::collections::HashSet::new();
        for listing in listings {
            // A product both changed and in a changed household is read twice: added once.
            if added.insert(listing.id) {
                self.writer.add_document(self.fields.document(listing))?;
            }
        }
        self.position = changes.next;
        let idle_commit_due = self.position != self.committed_position
            && self.committed_at.elapsed() >= IDLE_COMMIT_EVERY;
        if changed || idle_commit_due {
            self.commit()?;
        }
        Ok(())
    }

    /// After a round that could not be applied whole (the disk was full, say): back to the last
    /// commit, so that the next round reads the same changes again. Going on from where the
    /// failed round ended would leave its changes out of the index for good.
    fn undo(&mut self) {
        self.position = self.committed_position;
        // A writer whose rollback failed once has lost its lock and panics on the next one.
        let rolled_back = catch_unwind(AssertUnwindSafe(|| self.writer.rollback()));
        // Once it cannot, every later round meets it again.
        static BROKEN: LogThrottle = LogThrottle::new(Duration::from_secs(10));
        if !matches!(rolled_back, Ok(Ok(_))) && BROKEN.due().is_some() {
            tracing::error!(
                "the catalogue index writer cannot be reset: searches answer from the index as it was until the server restarts"
            );
        }
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        let saved = Saved {
            version: INDEX_VERSION,
            database: self.options.database_identity.clone(),
            position: self.position,
            saved_at: chrono::Utc::now().timestamp(),
        };
        let mut commit = self.writer.prepare_commit()?;
        commit.set_payload(&serde_json::to_string(&saved)?);
        commit.commit()?;
        self.reader.reload()?;
        self.committed_position = self.position;
        self.committed_at = Instant::now();
        Ok(())
    }

    fn prune_if_due(&mut self) {
        if self.pruned_at.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return;
        }
        self.pruned_at = Some(Instant::now());
        let retention = chrono::Duration::from_std(self.options.change_retention)
            .unwrap_or(chrono::Duration::days(1));
        let before = crate::time::now_utc() - retention;
        match self
            .db
            .run_blocking(move |conn| Ok(repo::prune(conn, before)?))
        {
            Ok(deleted) if deleted > 0 => tracing::info!(deleted, "pruned the search change feed"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "pruning the search change feed failed"),
        }
    }

    /// Follows the feed on its own thread until the catalogue is dropped.
    pub fn spawn(mut self, woken: mpsc::Receiver<()>, sync: Arc<SyncState>) -> anyhow::Result<()> {
        std::thread::Builder::new()
            .name("catalogue-follower".into())
            .spawn(move || {
                let interval = self.options.follow_interval;
                // Woken by a writer, or by the interval; gone once the catalogue is dropped.
                while let Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) =
                    woken.recv_timeout(interval)
                {
                    while woken.try_recv().is_ok() {}
                    let round = sync.started.fetch_add(1, Ordering::SeqCst) + 1;
                    // The database may be down, or the disk full: the next round tries again.
                    let caught_up = self.catch_up();
                    if let Err(error) = &caught_up
                        && let Some(held_back) = FOLLOWING_FAILED.due()
                    {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            held_back,
                            "following the search change feed failed"
                        );
                    }
                    self.prune_if_due();
                    sync.finished.send_replace(round);
                    // Not a round per write while none can succeed: each failed one reads the
                    // same changes again and starts the index writer anew. Writes that wake it
                    // meanwhile are read by the next round; the catalogue dropped ends the pause
                    // (and the thread, which holds the index's lock).
                    let paused_until = Instant::now() + PAUSE_AFTER_FAILED_ROUND;
                    while caught_up.is_err()
                        && let Some(left) = paused_until.checked_duration_since(Instant::now())
                    {
                        match woken.recv_timeout(left) {
                            Ok(()) => continue,
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                }
                // Dropping `sync`'s last sender (with the catalogue) ends every wait.
            })
            .context("starting the catalogue follower")?;
        Ok(())
    }
}
