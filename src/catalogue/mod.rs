//! The public catalogue's full-text index (tantivy), inside each server process. The database
//! stays the source of truth: triggers write every change a search can see to a change feed
//! (`search_changes`), and each server follows that feed in order into its own index
//! ([`follower`]), so a change made on any server is searchable on every server moments later.
//! A missing, old or unreadable index is rebuilt from the database before the server serves.
//! Searches answer the page's rows as the index keeps them (each listed product encoded
//! compactly by its source, `postcard`), with totals and facet counts.

pub mod analysis;
mod bonus;
mod document;
mod filters;
mod follower;
mod names;
mod query;
mod queue;
pub mod repo;
mod sorted;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyError};

pub use document::Listing;
pub use query::{CatalogueAnswer, CatalogueQuery, Facet, FacetCount, Hit, PRICE_BUCKETS, Sort};

use crate::db::{Database, DbConnection};
use document::Fields;
use names::Lookup;
use query::SearchPlan;

/// Where the index's products come from: the products the public catalogue lists (active, of an
/// active household), read from the database.
pub trait ListingSource: Send + Sync + 'static {
    /// The listed products among these products and the products of these households.
    fn listings(
        &self,
        conn: &mut DbConnection,
        product_ids: &[String],
        household_ids: &[String],
    ) -> anyhow::Result<Vec<Listing>>;

    /// The listed products among the next `limit` products in id order after `after` (for a
    /// rebuild), and the last id read: `None` once past the last product.
    fn listings_after(
        &self,
        conn: &mut DbConnection,
        after: Option<&str>,
        limit: i64,
    ) -> anyhow::Result<(Vec<Listing>, Option<String>)>;

    /// How many products the catalogue lists (for the rebuild's progress).
    fn count(&self, conn: &mut DbConnection) -> anyhow::Result<i64>;
}

/// How the index is kept.
#[derive(Debug, Clone)]
pub struct CatalogueOptions {
    /// `None`: in memory.
    pub dir: Option<PathBuf>,
    pub follow_interval: Duration,
    pub change_retention: Duration,
    /// Says which database the index was built from, so that an index is never followed
    /// against another database.
    pub database_identity: String,
    /// How many large searches run at once (0: one per core); the others wait their turn.
    pub search_threads: usize,
    /// Searches that may visit at most this many listings are quick: they run where asked.
    pub quick_search_listings: u64,
    /// Most memory the bitsets of common words and filters take (0: none kept).
    pub filter_cache_bytes: usize,
}

/// Runs a plan; a panic answers an error (a 500) instead of unwinding the thread.
fn run_caught(plan: &SearchPlan) -> anyhow::Result<CatalogueAnswer> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan.run()))
        .unwrap_or_else(|_| Err(TantivyError::InternalError("the search panicked".into())))
        .map_err(Into::into)
}

/// Most suggestions answered.
pub const SUGGESTIONS_MAX: usize = 10;
/// Bumped when what is indexed changes without the schema changing (an analyzer, a text):
/// an index of another version is rebuilt.
const INDEX_VERSION: u32 = 4;

/// Stored listings are read back 20 to a page from random places: small blocks mean less to
/// decompress per hit (tantivy's default, 16 KiB, spent a tenth of the crowd's CPU on it).
const DOCSTORE_BLOCK_BYTES: usize = 1024;

/// What a suggestion's names begin with: the folded prefix (`None` if nothing is left of it).
fn suggestion_key(prefix: &str) -> Option<String> {
    let key = analysis::folded_key(prefix);
    if key.is_empty() {
        return None;
    }
    // A space typed after the last word stays: `vai ` completes `vai thieu`, not `vaia`.
    Some(if prefix.ends_with(char::is_whitespace) {
        format!("{key} ")
    } else {
        key
    })
}

/// The index settings a new index is made with.
fn settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        docstore_blocksize: DOCSTORE_BLOCK_BYTES,
        ..tantivy::IndexSettings::default()
    }
}

pub struct Catalogue {
    reader: IndexReader,
    fields: Fields,
    names: Arc<names::NameIndex>,
    sync: Arc<SyncState>,
    wake: Mutex<mpsc::Sender<()>>,
    /// The threads of the large searches, which take them first come first served within each
    /// asker's line, the askers in turn ([`queue`]). Searches are bound by the CPU: as many at
    /// once as there are cores finish each in its own time, where a crowd of them sharing the
    /// cores would each take as long as all of them (and a burst would start a thread each).
    large_searches: queue::FairPool<Option<IpAddr>>,
    quick_search_listings: u64,
    filters: Arc<filters::FilterCache>,
}

/// Rounds of the follower: each waiter waits for a round that began after its change.
struct SyncState {
    started: AtomicU64,
    finished: tokio::sync::watch::Sender<u64>,
}

impl Catalogue {
    /// Opens the index (rebuilding it when it is missing, old, unreadable or of another
    /// database), brings it up to date with the change feed and starts following it.
    pub fn start(
        db: Database,
        source: Arc<dyn ListingSource>,
        options: CatalogueOptions,
    ) -> anyhow::Result<Arc<Catalogue>> {
        let (schema, fields) = document::schema();
        let (index, reusable) = open(options.dir.as_deref(), schema)?;
        let writer: IndexWriter = index.writer_with_options(
            IndexWriterOptions::builder()
                .memory_budget_per_thread(50_000_000)
                .num_worker_threads(1)
                .num_merge_threads(1)
                .build(),
        )?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            // A crowd reads pages from random places: a cache of decompressed blocks would
            // seldom be hit, and every search would queue on its lock to fill it.
            .doc_store_cache_num_blocks(0)
            .try_into()?;
        let mut state = follower::Follower::new(
            (db, source),
            (writer, reader.clone(), fields),
            options.clone(),
        );
        let saved = reusable.then(|| follower::saved_position(&index)).flatten();
        state.prepare(saved)?;
        let (wake, woken) = mpsc::channel();
        let sync = Arc::new(SyncState {
            started: AtomicU64::new(0),
            finished: tokio::sync::watch::Sender::new(0),
        });
        state.spawn(woken, sync.clone())?;
        Ok(Arc::new(Catalogue {
            reader,
            fields,
            names: Default::default(),
            sync,
            wake: Mutex::new(wake),
            quick_search_listings: options.quick_search_listings,
            filters: Arc::new(filters::FilterCache::new(options.filter_cache_bytes)),
            large_searches: queue::FairPool::start(options.search_threads, "search")?,
        }))
    }

    /// Looks a search's words up in the current index (cheap: its term dictionary only), which
    /// tells whether it is quick.
    fn plan(&self, query: CatalogueQuery) -> anyhow::Result<SearchPlan> {
        let searcher = self.reader.searcher();
        let quick_max = self.quick_search_listings;
        let filters = self.filters.clone();
        Ok(SearchPlan::new(
            searcher,
            self.fields,
            filters,
            query,
            quick_max,
        )?)
    }

    /// Answers a search: where the request is when it is quick, else on a thread of the large
    /// searches, in its turn among `asker`'s (the client's address) and others' (a search whose
    /// asker has gone by then is not run).
    pub async fn answer(
        &self,
        query: CatalogueQuery,
        asker: Option<IpAddr>,
    ) -> anyhow::Result<CatalogueAnswer> {
        let plan = self.plan(query)?;
        if plan.is_quick() {
            return run_caught(&plan);
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.large_searches.spawn(asker, move || {
            if !answer.is_closed() {
                let _ = answer.send(run_caught(&plan));
            }
        });
        answered.await?
    }

    /// Plans and runs a search (blocking).
    pub fn search(&self, query: &CatalogueQuery) -> anyhow::Result<CatalogueAnswer> {
        Ok(self.plan(query.clone())?.run()?)
    }

    /// Up to [`SUGGESTIONS_MAX`] product names that begin with `prefix` (folded), the names
    /// most products share first, when names recent enough are in memory: then it does not
    /// block. Names of an earlier generation of the index, read less than a second ago, answer
    /// while the current ones are read in the background. `None` when [`Catalogue::suggest`]
    /// has to read them first.
    pub fn suggest_ready(&self, prefix: &str) -> Option<Vec<String>> {
        let searcher = self.reader.searcher();
        let names = match self.names.lookup(&searcher) {
            Lookup::Current(names) => names,
            Lookup::Recent(names) => {
                self.refresh_names(searcher);
                names
            }
            Lookup::Missing => return None,
        };
        Some(names::completions(
            &names,
            &suggestion_key(prefix)?,
            SUGGESTIONS_MAX,
        ))
    }

    /// Reads the names of `searcher`'s generation on a thread that may block, unless a refresh
    /// runs already (or there is no runtime to run one).
    fn refresh_names(&self, searcher: tantivy::Searcher) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.names.claim_refresh() {
            return;
        }
        let (names, field) = (self.names.clone(), self.fields.name_key);
        runtime.spawn_blocking(move || {
            if let Err(error) = names.refresh(&searcher, field) {
                tracing::warn!(%error, "could not read the catalogue's names for suggestions");
            }
        });
    }

    /// The same, reading the index's names first if none recent enough are in memory
    /// (blocking).
    pub fn suggest(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let names = self
            .names
            .read(&self.reader.searcher(), self.fields.name_key)?;
        Ok(suggestion_key(prefix)
            .map(|key| names::completions(&names, &key, SUGGESTIONS_MAX))
            .unwrap_or_default())
    }

    /// Returns once the index holds every change committed before the call (a round of the
    /// follower that began after it has finished), or after `timeout`. A writer calls it so
    /// that its own next search shows its change.
    pub async fn caught_up(&self, timeout: Duration) {
        let target = self.sync.started.load(Ordering::SeqCst) + 1;
        let mut finished = self.sync.finished.subscribe();
        if let Ok(wake) = self.wake.lock() {
            let _ = wake.send(());
        }
        // An error: the follower has stopped, and nothing will come.
        let _ = tokio::time::timeout(timeout, finished.wait_for(|round| *round >= target)).await;
    }
}

/// Opens the index in `dir` (or makes one in memory). `false`: it is new, so it must be
/// built from the database.
fn open(dir: Option<&Path>, schema: tantivy::schema::Schema) -> anyhow::Result<(Index, bool)> {
    let Some(dir) = dir else {
        let index = Index::builder()
            .settings(settings())
            .schema(schema)
            .create_in_ram()?;
        analysis::register(index.tokenizers());
        return Ok((index, false));
    };
    std::fs::create_dir_all(dir)?;
    let existed = dir.join("meta.json").exists();
    let attempt = || -> tantivy::Result<Index> {
        let directory = MmapDirectory::open(dir)?;
        let index = Index::builder()
            .settings(settings())
            .schema(schema.clone())
            .open_or_create(directory)?;
        analysis::register(index.tokenizers());
        // Opening a reader opens every segment: a missing or cut file shows here.
        let _: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(index)
    };
    // tantivy panics on some truncated files rather than answering an error.
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(attempt))
        .unwrap_or_else(|_| Err(TantivyError::SystemError("tantivy panicked".into())));
    let recreate = || -> anyhow::Result<(Index, bool)> {
        std::fs::remove_dir_all(dir)?;
        std::fs::create_dir_all(dir)?;
        let index = Index::builder()
            .settings(settings())
            .schema(schema.clone())
            .create_in_dir(dir)?;
        analysis::register(index.tokenizers());
        Ok((index, false))
    };
    match opened {
        // Made with other settings (an older version): made again, then built.
        Ok(index) if index.settings().docstore_blocksize != DOCSTORE_BLOCK_BYTES => {
            drop(index);
            tracing::info!(dir = %dir.display(), "the catalogue index has old settings; rebuilding it");
            recreate()
        }
        Ok(index) => Ok((index, existed)),
        Err(TantivyError::LockFailure(..)) => anyhow::bail!(
            "the catalogue index {} is in use by another process: give each server its own \
             catalogue.index_dir",
            dir.display()
        ),
        Err(error) => {
            tracing::warn!(%error, dir = %dir.display(), "the catalogue index is unreadable; rebuilding it");
            recreate()
        }
    }
}
