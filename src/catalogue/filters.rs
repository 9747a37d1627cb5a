//! Required words and filters as bitsets of a segment's documents, kept between searches.
//!
//! A crowd's searches differ, but they share their words and filters (`vai`, a province, a
//! category, `in_stock`). tantivy intersects posting lists by seeking each one to every
//! candidate, decoding a block of postings per seek; against a bitset the same check is one
//! bit. So a term common enough in a segment is read once into a bitset, and later searches
//! test bits; the words' scores come from their postings, read only at the matches
//! ([`super::bonus`]). Segments never change (deletions are applied apart, by the collectors),
//! so an entry is exact for as long as its segment lives; entries of merged-away segments age
//! out of the cache like any other.

use std::sync::{Arc, Mutex};

use lru::LruCache;
use tantivy::index::{InvertedIndexReader, SegmentId};
use tantivy::query::{
    ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight, intersect_scorers,
};
use tantivy::schema::IndexRecordOption;
use tantivy::termdict::TermStreamer;
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, TERMINATED, Term};

/// A term is kept as a bitset when it is in at least one document in this many of a segment:
/// its bitset then takes at most this many bits per posting.
const DENSE_ENOUGH: u64 = 32;

/// What a filter matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FilterKey {
    /// The documents that have this term.
    Term(Term),
    /// The documents that have a term of this field beginning with this one's text.
    Prefix(Term),
}

/// Documents of one segment, one bit each.
pub struct Bits {
    words: Vec<u64>,
    len: u32,
}

impl Bits {
    fn with_max_doc(max_doc: DocId) -> Bits {
        Bits {
            words: vec![0; (max_doc as usize).div_ceil(64)],
            len: 0,
        }
    }

    fn insert(&mut self, doc: DocId) {
        let (word, bit) = ((doc / 64) as usize, doc % 64);
        if self.words[word] & (1 << bit) == 0 {
            self.words[word] |= 1 << bit;
            self.len += 1;
        }
    }

    fn contains(&self, doc: DocId) -> bool {
        self.words
            .get((doc / 64) as usize)
            .is_some_and(|word| word & (1 << (doc % 64)) != 0)
    }

    /// The first document at or after `from`, or [`TERMINATED`].
    fn next_from(&self, from: DocId) -> DocId {
        let mut index = (from / 64) as usize;
        let Some(&first) = self.words.get(index) else {
            return TERMINATED;
        };
        let mut word = first & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                return index as DocId * 64 + word.trailing_zeros();
            }
            index += 1;
            match self.words.get(index) {
                Some(&next) => word = next,
                None => return TERMINATED,
            }
        }
    }

    /// The documents in each of these (of one segment).
    fn intersection(first: &Bits, second: &Bits, others: &[Arc<Bits>]) -> Bits {
        let mut words: Vec<u64> = (first.words.iter().zip(&second.words))
            .map(|(a, b)| a & b)
            .collect();
        for other in others {
            for (word, with) in words.iter_mut().zip(&other.words) {
                *word &= with;
            }
        }
        let len = words.iter().map(|word| word.count_ones()).sum();
        Bits { words, len }
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8 + std::mem::size_of::<Bits>()
    }
}

/// What one kept entry costs: its bitset, its key (with the term's bytes on the heap) and the
/// cache's own bookkeeping (the list node, the table slot and the `Arc`), about 64 bytes. The
/// bitset of a small new segment is only a few words: the rest is most of its size.
fn entry_bytes(key: &(SegmentId, FilterKey), bits: &Bits) -> usize {
    let (FilterKey::Term(term) | FilterKey::Prefix(term)) = &key.1;
    const BOOKKEEPING: usize = 64;
    bits.bytes()
        + std::mem::size_of::<(SegmentId, FilterKey)>()
        + term.serialized_value_bytes().len()
        + BOOKKEEPING
}

/// The bitsets of the filters searches used last, within a memory budget.
pub struct FilterCache {
    max_bytes: usize,
    entries: Mutex<Entries>,
}

struct Entries {
    map: LruCache<(SegmentId, FilterKey), Arc<Bits>>,
    bytes: usize,
}

impl FilterCache {
    /// A cache of at most `max_bytes` of bitsets (0: filters read their postings every time).
    pub fn new(max_bytes: usize) -> Self {
        FilterCache {
            max_bytes,
            entries: Mutex::new(Entries {
                map: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.max_bytes > 0
    }

    fn get(&self, key: &(SegmentId, FilterKey)) -> Option<Arc<Bits>> {
        self.entries.lock().ok()?.map.get(key).cloned()
    }

    fn put(&self, key: (SegmentId, FilterKey), bits: Arc<Bits>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let size = entry_bytes(&key, &bits);
        if size > self.max_bytes {
            return;
        }
        // The same key's size again: its term is the same, and so its bitset's length.
        if entries.map.put(key, bits).is_some() {
            entries.bytes -= size;
        }
        entries.bytes += size;
        while entries.bytes > self.max_bytes {
            let Some((key, evicted)) = entries.map.pop_lru() else {
                break;
            };
            entries.bytes -= entry_bytes(&key, &evicted);
        }
    }

    /// What `key` matches in this segment: the kept bitset, else one read from its postings
    /// (kept where the term is common enough for a bitset to pay), else, for a rare term, its
    /// postings as they are. The term dictionary is read once either way.
    fn matches(&self, reader: &SegmentReader, key: &FilterKey) -> tantivy::Result<Matches> {
        let cache_key = (reader.segment_id(), key.clone());
        if self.enabled()
            && let Some(bits) = self.get(&cache_key)
        {
            return Ok(Matches::Bits(bits));
        }
        let (FilterKey::Term(term) | FilterKey::Prefix(term)) = key;
        let inverted = reader.inverted_index(term.field())?;
        let mut infos = Vec::new();
        match key {
            FilterKey::Term(term) => infos.extend(inverted.get_term_info(term)?),
            FilterKey::Prefix(prefix) => {
                let mut terms = terms_beginning_with(&inverted, prefix.serialized_value_bytes())?;
                while terms.advance() {
                    infos.push(terms.value().clone());
                }
            }
        }
        let max_doc = reader.max_doc();
        let postings: u64 = infos.iter().map(|info| u64::from(info.doc_freq)).sum();
        let kept = self.enabled() && postings * DENSE_ENOUGH >= u64::from(max_doc);
        if !kept && let FilterKey::Term(_) = key {
            // One posting list, walked as a term query without scores would.
            return Ok(Matches::Scorer(match infos.first() {
                Some(info) => {
                    let docs =
                        inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
                    Box::new(ConstScorer::new(docs, 0.0))
                }
                None => Box::new(EmptyScorer),
            }));
        }
        // A prefix's terms in one bitset, as tantivy's prefix query reads them, kept if common.
        let mut bits = Bits::with_max_doc(max_doc);
        for info in &infos {
            let mut docs =
                inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            loop {
                let block = docs.docs();
                if block.is_empty() {
                    break;
                }
                for &doc in block {
                    bits.insert(doc);
                }
                docs.advance();
            }
        }
        let bits = Arc::new(bits);
        if kept {
            self.put(cache_key, bits.clone());
        }
        Ok(Matches::Bits(bits))
    }
}

/// What a filter matches in one segment.
enum Matches {
    Bits(Arc<Bits>),
    Scorer(Box<dyn Scorer>),
}

/// The terms of a field that begin with `prefix`, in order.
pub fn terms_beginning_with<'a>(
    inverted: &'a InvertedIndexReader,
    prefix: &[u8],
) -> std::io::Result<TermStreamer<'a>> {
    // No UTF-8 text holds the byte 0xFF: every term beginning so sorts below this.
    let end = [prefix, &[0xFF]].concat();
    inverted.terms().range().ge(prefix).lt(&end).into_stream()
}

/// Filters (no score) that a match must all pass: the cache's bitsets of those common in a
/// segment and a bitset of each rare prefix, intersected a word (64 listings) at a time, and the
/// postings of rare terms. Its own weight: it needs no statistics of the searcher.
#[derive(Clone)]
pub struct CachedFilter {
    pub keys: Vec<FilterKey>,
    pub cache: Arc<FilterCache>,
}

impl std::fmt::Debug for CachedFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CachedFilter({:?})", self.keys)
    }
}

impl Query for CachedFilter {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for key in &self.keys {
            match key {
                FilterKey::Term(term) | FilterKey::Prefix(term) => visitor(term, false),
            }
        }
    }
}

impl Weight for CachedFilter {
    fn scorer(&self, reader: &SegmentReader, _: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut bitsets = Vec::new();
        let mut scorers: Vec<Box<dyn Scorer>> = Vec::new();
        for key in &self.keys {
            match self.cache.matches(reader, key)? {
                Matches::Bits(bits) => bitsets.push(bits),
                Matches::Scorer(scorer) => scorers.push(scorer),
            }
        }
        let all = match bitsets.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            [first, second, others @ ..] => {
                Some(Arc::new(Bits::intersection(first, second, others)))
            }
        };
        scorers.extend(all.map(|bits| Box::new(BitsScorer::new(bits)) as Box<dyn Scorer>));
        Ok(intersect_scorers(scorers, reader.num_docs()))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("CachedFilter", 0.0))
    }
}

/// The documents of a bitset, each scored 0.
struct BitsScorer {
    bits: Arc<Bits>,
    doc: DocId,
}

impl BitsScorer {
    fn new(bits: Arc<Bits>) -> Self {
        let doc = bits.next_from(0);
        BitsScorer { bits, doc }
    }
}

impl DocSet for BitsScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.bits.next_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = self.bits.next_from(target);
        }
        self.doc
    }

    /// One bit: an intersection asks whether each of its candidates is here.
    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= TERMINATED {
            self.doc = TERMINATED;
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        if self.bits.contains(target) {
            self.doc = target;
            SeekDangerResult::Found
        } else {
            // `doc` stays where it was, below `target`: the next seek starts from its own target.
            SeekDangerResult::SeekLowerBound(target + 1)
        }
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.bits.len
    }
}

impl Scorer for BitsScorer {
    fn score(&mut self) -> Score {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use tantivy::collector::DocSetCollector;
    use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, TermQuery};
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, TantivyDocument, doc};

    use super::*;

    proptest! {
        /// Moving through a bitset by advance, seek and seek_danger finds what a sorted set does.
        #[test]
        fn a_bitset_moves_as_a_sorted_set_does(
            docs in proptest::collection::btree_set(0u32..300, 0..120),
            moves in proptest::collection::vec((0u8..3, 0u32..320), 0..40),
        ) {
            let mut bits = Bits::with_max_doc(300);
            for &doc in &docs {
                bits.insert(doc);
            }
            let set: BTreeSet<u32> = docs;
            let next = |from: u32| set.range(from..).next().copied().unwrap_or(TERMINATED);
            let mut scorer = BitsScorer::new(Arc::new(bits));
            prop_assert_eq!(scorer.size_hint() as usize, set.len());
            prop_assert_eq!(scorer.doc(), next(0));
            let mut at = scorer.doc();
            for (how, target) in moves {
                if at == TERMINATED {
                    break;
                }
                // Targets move forward, as tantivy's docsets are asked to.
                let target = at + 1 + target;
                match how {
                    0 => {
                        at = next(at + 1);
                        prop_assert_eq!(scorer.advance(), at);
                    }
                    1 => {
                        at = next(target);
                        prop_assert_eq!(scorer.seek(target), at);
                    }
                    _ => {
                        let found = scorer.seek_danger(target);
                        if set.contains(&target) {
                            prop_assert_eq!(found, SeekDangerResult::Found);
                            prop_assert_eq!(scorer.doc(), target);
                            at = target;
                        } else {
                            let SeekDangerResult::SeekLowerBound(bound) = found else {
                                return Err(TestCaseError::fail("found a missing document"));
                            };
                            prop_assert!(bound > target && bound <= next(target));
                            // Between documents: only a seek puts it back on one.
                            at = next(bound);
                            prop_assert_eq!(scorer.seek(bound), at);
                        }
                    }
                }
            }
        }
    }

    /// Filters from the cache (common terms, a prefix) and from postings (a rare term) match
    /// what tantivy's own queries match, before and after the bitsets are kept, and with the
    /// cache off.
    #[test]
    fn cached_filters_match_what_the_postings_match() {
        let mut schema = Schema::builder();
        let word = schema.add_text_field("word", STRING);
        let colour = schema.add_text_field("colour", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..1_000u32 {
            let mut document = TantivyDocument::default();
            document.add_text(word, if i % 3 == 0 { "vai" } else { "cam" });
            document.add_text(word, format!("lo{}", i % 7));
            document.add_text(colour, if i == 500 { "rare" } else { "green" });
            writer.add_document(document).unwrap();
        }
        writer
            .add_document(doc!(word => "vai", colour => "rare"))
            .unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = |field, text: &str| Term::from_field_text(field, text);
        let docs = |query: &dyn Query| searcher.search(query, &DocSetCollector).unwrap();
        let plain = |terms: &[Term], prefix: Option<Term>| {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = terms
                .iter()
                .map(|t| {
                    let query: Box<dyn Query> =
                        Box::new(TermQuery::new(t.clone(), IndexRecordOption::Basic));
                    (Occur::Must, query)
                })
                .collect();
            if let Some(p) = prefix {
                clauses.push((
                    Occur::Must,
                    Box::new(FuzzyTermQuery::new_prefix(p, 0, true)),
                ));
            }
            docs(&BooleanQuery::new(clauses))
        };
        let cases = [
            (vec![term(word, "vai")], None),
            (vec![term(word, "vai"), term(colour, "green")], None),
            (vec![term(word, "vai"), term(colour, "rare")], None),
            (vec![term(word, "cam")], Some(term(word, "lo"))),
            (vec![term(word, "vai")], Some(term(word, "lo3"))),
            (
                vec![term(word, "vai"), term(colour, "green")],
                Some(term(word, "lo")),
            ),
            (
                vec![term(word, "cam"), term(colour, "rare")],
                Some(term(word, "lo")),
            ),
            (vec![term(word, "none")], None),
        ];
        for max_bytes in [0, 1 << 20] {
            let cache = Arc::new(FilterCache::new(max_bytes));
            for _ in 0..2 {
                for (terms, prefix) in &cases {
                    let mut keys: Vec<FilterKey> =
                        terms.iter().cloned().map(FilterKey::Term).collect();
                    keys.extend(prefix.clone().map(FilterKey::Prefix));
                    let filter = CachedFilter {
                        keys,
                        cache: cache.clone(),
                    };
                    let expected = plain(terms, prefix.clone());
                    assert!(!expected.is_empty() || terms[0] == term(word, "none"));
                    assert_eq!(docs(&filter), expected, "{terms:?} {prefix:?}");
                }
            }
            let kept = cache.entries.lock().unwrap().map.len();
            // The rare colour is read from its postings, never kept.
            assert_eq!(kept, if max_bytes == 0 { 0 } else { 5 });
        }
    }

    /// Many entries of small segments (a bitset of one word each) stay within the budget
    /// counted with their keys, and the count is exact after replacements and evictions.
    #[test]
    fn the_budget_counts_keys_as_well_as_bitsets() {
        let mut schema = Schema::builder();
        let word = schema.add_text_field("word", STRING);
        let budget = 5_000;
        let cache = FilterCache::new(budget);
        let segments: Vec<SegmentId> = (0..50).map(|_| SegmentId::generate_random()).collect();
        for round in 0..3 {
            for (n, segment) in segments.iter().enumerate() {
                let key = FilterKey::Term(Term::from_field_text(word, &format!("term-{n}")));
                cache.put((*segment, key), Arc::new(Bits::with_max_doc(30 + round)));
            }
        }
        let entries = cache.entries.lock().unwrap();
        let counted: usize = entries.map.iter().map(|(k, b)| entry_bytes(k, b)).sum();
        assert_eq!(entries.bytes, counted);
        assert!(counted <= budget, "{counted}");
        let one = counted / entries.map.len();
        assert!(one > Bits::with_max_doc(30).bytes() + 64, "{one}");
        // Full, after evicting: another entry or two would pass the budget.
        assert!(counted + 2 * one > budget, "{counted} {one}");
    }
}
