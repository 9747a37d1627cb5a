//! Product names by folded prefix, for suggestions. Read from the index's `name_key` terms
//! (`<folded>\u{1}<name>`), counted over live documents, and kept in memory as one sorted list
//! per searcher generation: a suggestion is then a binary search and a scan of the names that
//! begin so, with no term dictionary or postings read while the buyer types. A segment's names
//! are read once (segments do not change; only their deletions do), so a new generation re-reads
//! just the segments it added or deleted from. While a new generation's names are read, the
//! last ones answer if they are recent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Opstamp, Searcher, SegmentReader, TERMINATED};

/// A name and how many listed products carry it. (The texts are shared between a segment's
/// list and the merged one: memory for each distinct name once.)
pub struct NameCount {
    folded: Arc<str>,
    shown: Arc<str>,
    count: u64,
}

/// Names sorted by their folded form, one entry per folded form.
pub type Names = Arc<Vec<NameCount>>;

/// How long names read from an older generation may still answer while newer ones are read:
/// with the follower's lag, a change shows in suggestions within the 2 s searches promise.
const RECENT: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct NameIndex {
    built: Mutex<Built>,
    /// Held by the one thread reading a generation's names.
    reading: Mutex<()>,
    /// Set while a refresh runs in the background (one at a time).
    refreshing: AtomicBool,
}

#[derive(Default)]
struct Built {
    /// The searcher generation `names` is of.
    generation: Option<u64>,
    /// When they were read.
    at: Option<Instant>,
    names: Names,
    /// Each segment's names, by segment and the deletions they were counted with.
    segments: HashMap<(SegmentId, Option<Opstamp>), Names>,
}

/// What answers a suggestion without waiting.
pub enum Lookup {
    /// The names of the searcher's generation.
    Current(Names),
    /// The names of an earlier generation, read less than [`RECENT`] ago: they answer while the
    /// caller has the current ones read (a rush of edits makes a generation every follow
    /// interval; no suggestion waits for each).
    Recent(Names),
    /// None recent enough: read them first.
    Missing,
}

impl NameIndex {
    pub fn lookup(&self, searcher: &Searcher) -> Lookup {
        let built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if built.generation == Some(searcher.generation().generation_id()) {
            Lookup::Current(built.names.clone())
        } else if built.at.is_some_and(|at| at.elapsed() < RECENT) {
            Lookup::Recent(built.names.clone())
        } else {
            Lookup::Missing
        }
    }

    /// Claims the one background refresh; `false` when one runs already.
    pub fn claim_refresh(&self) -> bool {
        !self.refreshing.swap(true, Ordering::AcqRel)
    }

    /// [`NameIndex::read`] for a claimed background refresh, which it then releases.
    pub fn refresh(&self, searcher: &Searcher, field: Field) -> tantivy::Result<Names> {
        struct Release<'a>(&'a AtomicBool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _released_even_on_panic = Release(&self.refreshing);
        self.read(searcher, field)
    }

    /// Reads the names of this searcher's generation (blocking), unless names as new or newer
    /// are there already.
    pub fn read(&self, searcher: &Searcher, field: Field) -> tantivy::Result<Names> {
        let _one_reader = self.reading.lock().unwrap_or_else(|p| p.into_inner());
        let generation = searcher.generation().generation_id();
        let previous = {
            let built = self.built.lock().unwrap_or_else(|p| p.into_inner());
            if built.generation >= Some(generation) {
                return Ok(built.names.clone());
            }
            built.segments.clone()
        };
        // Read without holding `built`: suggestions go on answering meanwhile.
        let started = Instant::now();
        let mut segments = HashMap::new();
        for segment in searcher.segment_readers() {
            let key = (segment.segment_id(), segment.delete_opstamp());
            let names = match previous.get(&key) {
                Some(names) => names.clone(),
                None => Arc::new(segment_names(segment, field)?),
            };
            segments.insert(key, names);
        }
        let names: Names = Arc::new(merged(segments.values()));
        tracing::debug!(
            generation,
            names = names.len(),
            seconds = started.elapsed().as_secs_f64(),
            "read the catalogue's names for suggestions"
        );
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        *built = Built {
            generation: Some(generation),
            at: Some(Instant::now()),
            names: names.clone(),
            segments,
        };
        Ok(names)
    }
}

/// Up to `limit` names that begin with `key` (folded), those most products carry first.
pub fn completions(names: &[NameCount], key: &str, limit: usize) -> Vec<String> {
    let from = names.partition_point(|n| &*n.folded < key);
    let mut ranked: Vec<&NameCount> = names[from..]
        .iter()
        .take_while(|n| n.folded.starts_with(key))
        .collect();
    let best_first =
        |a: &&NameCount, b: &&NameCount| b.count.cmp(&a.count).then_with(|| a.shown.cmp(&b.shown));
    if ranked.len() > limit {
        ranked.select_nth_unstable_by(limit, best_first);
        ranked.truncate(limit);
    }
    ranked.sort_by(best_first);
    ranked.into_iter().map(|n| n.shown.to_string()).collect()
}

/// A segment's names with their live documents, in term order (so sorted by folded form).
fn segment_names(segment: &SegmentReader, field: Field) -> tantivy::Result<Vec<NameCount>> {
    let inverted = segment.inverted_index(field)?;
    let mut terms = inverted.terms().stream()?;
    let mut names: Vec<NameCount> = Vec::new();
    while terms.advance() {
        let info = terms.value();
        let count = match segment.alive_bitset() {
            None => u64::from(info.doc_freq),
            // Deleted documents keep their terms until segments merge: count the live ones.
            Some(alive) => {
                let mut postings =
                    inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
                let mut live = 0;
                while postings.doc() != TERMINATED {
                    live += u64::from(alive.is_alive(postings.doc()));
                    postings.advance();
                }
                live
            }
        };
        if count == 0 {
            continue;
        }
        let entry = std::str::from_utf8(terms.key()).unwrap_or_default();
        let (folded, shown) = entry.split_once('\u{1}').unwrap_or((entry, entry));
        // One folded form may be shown several ways (`Vải` and `vải`): the first in term order.
        match names.last_mut() {
            Some(last) if &*last.folded == folded => last.count += count,
            _ => names.push(NameCount {
                folded: folded.into(),
                shown: shown.into(),
                count,
            }),
        }
    }
    Ok(names)
}

/// The segments' names as one list: counts added up, each folded form shown as the
/// smallest of its names.
fn merged<'a>(segments: impl Iterator<Item = &'a Names>) -> Vec<NameCount> {
    let mut all: Vec<&NameCount> = segments.flat_map(|names| names.iter()).collect();
    all.sort_unstable_by(|a, b| a.folded.cmp(&b.folded).then_with(|| a.shown.cmp(&b.shown)));
    let mut names: Vec<NameCount> = Vec::new();
    for name in all {
        match names.last_mut() {
            Some(last) if last.folded == name.folded => last.count += name.count,
            _ => names.push(NameCount {
                folded: name.folded.clone(),
                shown: name.shown.clone(),
                count: name.count,
            }),
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use tantivy::{Index, IndexWriter, ReloadPolicy, doc};

    use super::*;

    fn key(name: &str) -> String {
        format!(
            "{}\u{1}{name}",
            crate::catalogue::analysis::folded_key(name)
        )
    }

    #[test]
    fn recent_names_answer_while_the_new_ones_are_read() {
        let (schema, fields) = crate::catalogue::document::schema();
        let index = Index::create_in_ram(schema);
        crate::catalogue::analysis::register(index.tokenizers());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .unwrap();
        writer
            .add_document(doc!(fields.name_key => key("Vải thiều")))
            .unwrap();
        writer.commit().unwrap();
        reader.reload().unwrap();
        let names = NameIndex::default();
        assert!(matches!(names.lookup(&reader.searcher()), Lookup::Missing));
        let first = names.read(&reader.searcher(), fields.name_key).unwrap();
        assert_eq!(completions(&first, "vai", 10), ["Vải thiều"]);

        writer
            .add_document(doc!(fields.name_key => key("Vải lai")))
            .unwrap();
        writer.commit().unwrap();
        reader.reload().unwrap();
        let Lookup::Recent(stale) = names.lookup(&reader.searcher()) else {
            panic!("the names read a moment ago answer while the new ones are read");
        };
        assert_eq!(completions(&stale, "vai", 10), ["Vải thiều"]);
        assert!(names.claim_refresh());
        assert!(!names.claim_refresh(), "one refresh at a time");
        names.refresh(&reader.searcher(), fields.name_key).unwrap();
        assert!(names.claim_refresh(), "released once done");
        let Lookup::Current(current) = names.lookup(&reader.searcher()) else {
            panic!("the new generation's names are read");
        };
        assert_eq!(completions(&current, "vai", 10), ["Vải lai", "Vải thiều"]);
    }
}
