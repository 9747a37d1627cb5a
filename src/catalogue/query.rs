//! A catalogue search as the index runs it: every word of `q` must match (exactly, with the typos
//! its length allows, or as a prefix when it is the last word); exact diacritics and words side by
//! side rank higher; the filters restrict without scoring; facets count per value with the other
//! filters applied.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ops::Bound;
use std::sync::Arc;

use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, BucketResult};
use tantivy::aggregation::{AggregationCollector, Key};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::schema::Value;
use tantivy::{DocAddress, DocId, Order, Score, Searcher, SegmentReader, TantivyDocument, Term};

use super::analysis::{QueryWord, pair_term, query_words};
use super::bonus::WithBonuses;
use super::document::{
    CATEGORY, CERTIFICATION, CREATED_AT, Fields, IN_STOCK, ORIGIN_2008, ORIGIN_CURRENT, PRICE,
    VIEWS, stored_row,
};
use super::filters::{CachedFilter, FilterCache, FilterKey, terms_beginning_with};
use super::sorted::ByValueThenId;
use crate::admin_map::ProvinceMap;

/// The orders of the catalogue (the database's listing by status has them too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// In stock first, then how well the words match (in the database's listing: newest).
    Relevance,
    Newest,
    PriceAsc,
    PriceDesc,
    Popular,
}

/// The facets a search may count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Category,
    Province,
    Certification,
    Price,
}

impl Facet {
    pub const ALL: [Facet; 4] = [
        Facet::Category,
        Facet::Province,
        Facet::Certification,
        Facet::Price,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Facet::Category => "category",
            Facet::Province => "province_code",
            Facet::Certification => "certification",
            Facet::Price => "price",
        }
    }
}

/// Price buckets of the price facet, đồng: each from its bound (included) to the next.
pub const PRICE_BUCKETS: [i64; 6] = [0, 50_000, 100_000, 200_000, 500_000, 1_000_000];

#[derive(Debug, Clone)]
pub struct CatalogueQuery {
    /// The words as the buyer typed them (checked for length by the caller).
    pub text: String,
    pub category: Option<String>,
    pub origin: Option<String>,
    pub map: ProvinceMap,
    pub household_id: Option<String>,
    pub certification: Option<String>,
    pub min_price_vnd: Option<i64>,
    pub max_price_vnd: Option<i64>,
    pub in_stock: bool,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
    pub facets: Vec<Facet>,
}

/// A count of one facet value: a category, province code or certification, or a price bucket
/// `[from, to)` (`to` absent for the last).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FacetCount {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    pub count: u64,
}

/// One product of a page: the row its source gave the index.
#[derive(Debug, Clone)]
pub struct Hit {
    pub row: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct CatalogueAnswer {
    pub hits: Vec<Hit>,
    pub total: usize,
    pub facets: BTreeMap<&'static str, Vec<FacetCount>>,
}

/// A search with its words looked up once in one searcher's term dictionary: how each word
/// matches, and how many listings the search may visit. Cheap to make where the request
/// arrives, so that the caller can choose where to run it.
pub struct SearchPlan {
    searcher: Searcher,
    fields: Fields,
    filters: Arc<FilterCache>,
    query: CatalogueQuery,
    words: Vec<(QueryWord, WordMatch)>,
    /// An upper bound of the listings the search visits over all its passes (the page, then
    /// one per facet): the fewest any of its words can match, whatever the filters (past
    /// `quick_max`, only a count that exceeds it).
    candidates: u64,
    /// Searches that may visit at most this many listings are quick.
    quick_max: u64,
}

impl SearchPlan {
    pub fn new(
        searcher: Searcher,
        fields: Fields,
        filters: Arc<FilterCache>,
        query: CatalogueQuery,
        quick_max: u64,
    ) -> tantivy::Result<Self> {
        let prefix_last = !query.text.ends_with(char::is_whitespace);
        let words = query_words(&query.text);
        let count = words.len();
        let mut bound = searcher.num_docs();
        let mut planned = Vec::with_capacity(count);
        for (i, word) in words.into_iter().enumerate() {
            let position = (i, count, prefix_last);
            let (how, matches) = word_match(&searcher, &fields, &word, position, quick_max)?;
            bound = bound.min(matches.unwrap_or(u64::MAX));
            planned.push((word, how));
        }
        let candidates = bound.saturating_mul(1 + query.facets.len() as u64);
        Ok(SearchPlan {
            searcher,
            fields,
            filters,
            query,
            words: planned,
            candidates,
            quick_max,
        })
    }

    /// Whether it is small enough to run on the thread that took the request: handing a search
    /// to a search thread costs two thread wake-ups, a tenth of a small search's time.
    pub fn is_quick(&self) -> bool {
        self.candidates <= self.quick_max
    }

    pub fn run(&self) -> tantivy::Result<CatalogueAnswer> {
        let (searcher, fields, query) = (&self.searcher, &self.fields, &self.query);
        let scored = query.sort == Sort::Relevance;
        let cache = &self.filters;
        let (matching, bonuses) = word_clauses(fields, cache, &self.words, scored);
        let full = WithBonuses {
            required: assemble(cache, matching.copy(), filters(fields, query, None)),
            bonuses,
        };
        let (hits, total) = page(searcher, fields, &full, query)?;
        let mut facets = BTreeMap::new();
        for facet in &query.facets {
            // Each facet counts with every filter but its own, so a menu shows the other
            // choices (counts, so no scores).
            let without_own =
                assemble(cache, matching.copy(), filters(fields, query, Some(*facet)));
            facets.insert(
                facet.name(),
                count_facet(searcher, without_own.as_ref(), *facet, query.map)?,
            );
        }
        Ok(CatalogueAnswer {
            hits,
            total,
            facets,
        })
    }
}

/// Queries that only add to the score of what the required clauses match.
type Bonuses = Vec<Box<dyn Query>>;

/// What a search's matches must have: terms and prefixes the filter cache may answer (all of
/// them as one bitset, [`CachedFilter`]), and other queries.
#[derive(Default)]
struct Required {
    cached: Vec<FilterKey>,
    queries: Vec<Box<dyn Query>>,
}

impl Required {
    fn copy(&self) -> Required {
        Required {
            cached: self.cached.clone(),
            queries: self.queries.iter().map(|query| query.box_clone()).collect(),
        }
    }
}

fn boxed(query: impl Query) -> Box<dyn Query> {
    Box::new(query)
}

/// Typos a folded word of this many letters may have (Meilisearch's defaults).
fn typos_allowed(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// How a word of the query finds listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordMatch {
    /// As it is (folded).
    Word,
    /// As typed or as the beginning of a longer word (the last word, two letters or more).
    Prefix,
    /// With the typos its length allows (the catalogue lacks it as typed), and as a prefix too
    /// when it is the last word.
    Typos { prefix: bool },
    /// One letter after a word (`phu q`): the letter as a word, or the pairs that begin so.
    PairPrefix,
}

/// How the `i`th of `count` words matches, and at most how many listings it matches (`None`
/// for a typo or pair automaton: no cheap bound; a prefix is counted until past `count_to`).
fn word_match(
    searcher: &Searcher,
    fields: &Fields,
    word: &QueryWord,
    (i, count, prefix_last): (usize, usize, bool),
    count_to: u64,
) -> tantivy::Result<(WordMatch, Option<u64>)> {
    let freq = searcher.doc_freq(&Term::from_field_text(fields.folded, &word.folded))?;
    let last = i + 1 == count && prefix_last;
    let letters = word.folded.chars().count();
    // A word the catalogue has as typed is not also looked for with typos: the typo variants
    // would only add noise below it, at the cost of reading them all.
    if typos_allowed(&word.folded) > 0 && freq == 0 {
        let prefix = last && letters >= 2;
        return Ok((WordMatch::Typos { prefix }, None));
    }
    if last && letters >= 2 {
        let (longer, prefix_freq) = prefix_terms(searcher, fields, word, count_to)?;
        // When only the word itself begins so, a prefix would add the same constant to every
        // listing found, which ranks nothing differently.
        if longer {
            return Ok((WordMatch::Prefix, Some(prefix_freq)));
        }
    } else if last && i > 0 {
        return Ok((WordMatch::PairPrefix, None));
    }
    Ok((WordMatch::Word, Some(freq)))
}

/// Each word is one clause that must match and decides which listings do: the folded word
/// alone when that is all it can be, or every form it may take (typos, prefix) in one. A plain
/// word or prefix is a filter of the cache ([`super::filters`]) when it has one: a bit to test
/// per candidate instead of a seek in its postings. What only adds score comes apart, as
/// bonuses, and only when the sort scores: the folded word where its clause does not score it
/// (a filter, or the prefix automaton, which finds the word too at a constant score), exact
/// diacritics, and words side by side. The score is the same sum as if each word's forms were
/// one union, less a constant where a prefix's clause is a filter; a bonus reads its postings
/// at the matches only.
fn word_clauses(
    fields: &Fields,
    cache: &FilterCache,
    words: &[(QueryWord, WordMatch)],
    scored: bool,
) -> (Required, Bonuses) {
    let record = if scored {
        IndexRecordOption::WithFreqs
    } else {
        IndexRecordOption::Basic
    };
    let mut required = Required::default();
    let mut bonuses = Vec::new();
    for (i, (word, how)) in words.iter().enumerate() {
        let term = Term::from_field_text(fields.folded, &word.folded);
        let folded = || boxed(TermQuery::new(term.clone(), record));
        // Automaton queries score their boost: a typo counts less than the word itself, and
        // a prefix less than the whole word.
        let prefix = || {
            let prefix = FuzzyTermQuery::new_prefix(term.clone(), 0, true);
            boxed(BoostQuery::new(boxed(prefix), 0.7))
        };
        let either = |ways: Vec<Box<dyn Query>>| {
            boxed(BooleanQuery::new(
                ways.into_iter().map(|way| (Occur::Should, way)).collect(),
            ))
        };
        // A filter of the cache where it keeps bitsets: the prefix's constant score is the same
        // for every match, so it ranks nothing and the filter may drop it.
        let matching = match *how {
            WordMatch::Word if cache.enabled() => {
                required.cached.push(FilterKey::Term(term.clone()));
                None
            }
            WordMatch::Prefix if cache.enabled() => {
                required.cached.push(FilterKey::Prefix(term.clone()));
                None
            }
            WordMatch::Word => Some(folded()),
            WordMatch::Prefix => Some(prefix()),
            WordMatch::Typos {
                prefix: with_prefix,
            } => {
                let typos = FuzzyTermQuery::new(term.clone(), typos_allowed(&word.folded), true);
                let typos = boxed(BoostQuery::new(boxed(typos), 0.5));
                Some(if with_prefix {
                    either(vec![typos, prefix()])
                } else {
                    typos
                })
            }
            WordMatch::PairPrefix => {
                let pair = pair_term(&words[i - 1].0.folded, &word.folded);
                let pairs =
                    FuzzyTermQuery::new_prefix(Term::from_field_text(fields.pairs, &pair), 0, true);
                Some(either(vec![folded(), boxed(pairs)]))
            }
        };
        // The folded word's score comes as a bonus where its clause gives none: a filter, or
        // the prefix automaton's constant.
        if scored && (matching.is_none() || *how == WordMatch::Prefix) {
            bonuses.push(folded());
        }
        required.queries.extend(matching);
        // Only a score: whatever has the diacritics has the folded word too.
        if scored && word.exact != word.folded {
            // The buyer typed diacritics: the listing that has them ranks first (`bơ` ≠ `bò`).
            let exact = TermQuery::new(
                Term::from_field_text(fields.exact, &word.exact),
                IndexRecordOption::WithFreqs,
            );
            bonuses.push(boxed(BoostQuery::new(boxed(exact), 2.0)));
        }
    }
    // Words side by side as typed (`thanh long`) rank above the same words apart.
    if scored {
        for pair in words.windows(2) {
            let (first, second) = (&pair[0].0, &pair[1].0);
            let term =
                Term::from_field_text(fields.pairs, &pair_term(&first.folded, &second.folded));
            let side_by_side = TermQuery::new(term, IndexRecordOption::WithFreqs);
            bonuses.push(boxed(BoostQuery::new(boxed(side_by_side), 1.5)));
        }
    }
    (required, bonuses)
}

/// Whether the index has a longer word beginning with `word`, and how many listings have a word
/// beginning so (the word itself included), counted until past `cap` (a short prefix of a
/// large catalogue's numbers is thousands of words).
fn prefix_terms(
    searcher: &Searcher,
    fields: &Fields,
    word: &QueryWord,
    cap: u64,
) -> tantivy::Result<(bool, u64)> {
    let start = word.folded.as_bytes();
    let (mut longer, mut freq) = (false, 0);
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(fields.folded)?;
        let mut terms = terms_beginning_with(&inverted, start)?;
        while terms.advance() {
            longer |= terms.key() != start;
            freq += u64::from(terms.value().doc_freq);
            if longer && freq > cap {
                return Ok((longer, freq));
            }
        }
    }
    Ok((longer, freq))
}

/// The filters of the query, but for the one a facet counts over: terms (for the filter
/// cache), and the price range.
fn filters(fields: &Fields, query: &CatalogueQuery, except: Option<Facet>) -> Required {
    let text_filter = |field, value| FilterKey::Term(Term::from_field_text(field, value));
    let mut cached = Vec::new();
    let mut price = None;
    if let Some(category) = query.category.as_deref()
        && except != Some(Facet::Category)
    {
        cached.push(text_filter(fields.category, category));
    }
    if let Some(code) = query.origin.as_deref()
        && except != Some(Facet::Province)
    {
        let field = match query.map {
            ProvinceMap::Current => fields.origin_current,
            ProvinceMap::Former => fields.origin_2008,
        };
        cached.push(text_filter(field, code));
    }
    if let Some(household) = query.household_id.as_deref() {
        cached.push(text_filter(fields.household, household));
    }
    if let Some(certification) = query.certification.as_deref()
        && except != Some(Facet::Certification)
    {
        cached.push(text_filter(fields.certification, certification));
    }
    if (query.min_price_vnd.is_some() || query.max_price_vnd.is_some())
        && except != Some(Facet::Price)
    {
        let bound = |value: Option<i64>| {
            value.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_i64(fields.price, v))
            })
        };
        let range = RangeQuery::new(bound(query.min_price_vnd), bound(query.max_price_vnd));
        price = Some(boxed(ConstScoreQuery::new(boxed(range), 0.0)));
    }
    if query.in_stock {
        cached.push(FilterKey::Term(Term::from_field_bool(
            fields.in_stock,
            true,
        )));
    }
    Required {
        cached,
        queries: price.into_iter().collect(),
    }
}

/// One query of everything required: the filters the cache may answer as one.
fn assemble(cache: &Arc<FilterCache>, words: Required, filters: Required) -> Box<dyn Query> {
    let mut cached = words.cached;
    cached.extend(filters.cached);
    let mut queries = words.queries;
    queries.extend(filters.queries);
    if !cached.is_empty() {
        queries.push(boxed(CachedFilter {
            keys: cached,
            cache: cache.clone(),
        }));
    }
    if queries.is_empty() {
        queries.push(boxed(AllQuery));
    }
    boxed(BooleanQuery::new(
        queries
            .into_iter()
            .map(|query| (Occur::Must, query))
            .collect(),
    ))
}

/// The rows of a page, and how many documents match. Relevance ranks the listings in stock
/// first, then by score (read from the in-stock fast field of the matches only: as a clause of
/// the query it made tantivy walk the nine in ten listings that are in stock for every search);
/// the other sorts read their fast field with scoring off, ties broken by id, newest first, as
/// the database's listing does ([`ByValueThenId`]).
fn page(
    searcher: &Searcher,
    fields: &Fields,
    query: &dyn Query,
    wanted: &CatalogueQuery,
) -> tantivy::Result<(Vec<Hit>, usize)> {
    let top = || TopDocs::with_limit(wanted.limit).and_offset(wanted.offset);
    let by = |field: &'static str, order: Order| ByValueThenId {
        field,
        order,
        offset: wanted.offset,
        limit: wanted.limit,
    };
    // One pass: the matches are all visited anyway (the clauses that only add score keep
    // tantivy from skipping any), so the count comes with the page.
    let (addresses, total) = match wanted.sort {
        Sort::Relevance => {
            let in_stock_then_score = top().tweak_score(|segment: &SegmentReader| {
                let in_stock = segment
                    .fast_fields()
                    .bool(IN_STOCK)
                    .ok()
                    .map(|column| column.first_or_default_col(false));
                move |doc: DocId, score: Score| {
                    let stocked = in_stock.as_ref().is_some_and(|column| column.get_val(doc));
                    (stocked, score)
                }
            });
            addresses(searcher.search(query, &(in_stock_then_score, Count))?)
        }
        Sort::Newest => searcher.search(query, &by(CREATED_AT, Order::Desc))?,
        Sort::PriceAsc => searcher.search(query, &by(PRICE, Order::Asc))?,
        Sort::PriceDesc => searcher.search(query, &by(PRICE, Order::Desc))?,
        Sort::Popular => searcher.search(query, &by(VIEWS, Order::Desc))?,
    };
    if wanted.limit == 0 {
        return Ok((Vec::new(), total));
    }
    let mut hits = Vec::with_capacity(addresses.len());
    // A store reader for each segment of the page (opening one reads no data).
    let mut stores = BTreeMap::new();
    for address in addresses {
        let store = match stores.entry(address.segment_ord) {
            Entry::Occupied(store) => store.into_mut(),
            Entry::Vacant(store) => store.insert(
                searcher
                    .segment_reader(address.segment_ord)
                    .get_store_reader(0)?,
            ),
        };
        let stored = store.get_document_bytes(address.doc_id)?;
        let row = match stored_row(&stored, fields.row) {
            Some(row) => row.to_vec(),
            None => {
                let doc: TantivyDocument = searcher.doc(address)?;
                doc.get_first(fields.row)
                    .and_then(|value| value.as_bytes())
                    .unwrap_or_default()
                    .to_vec()
            }
        };
        hits.push(Hit { row });
    }
    Ok((hits, total))
}

fn addresses<K>((hits, total): (Vec<(K, DocAddress)>, usize)) -> (Vec<DocAddress>, usize) {
    (
        hits.into_iter().map(|(_, address)| address).collect(),
        total,
    )
}

fn count_facet(
    searcher: &Searcher,
    query: &dyn Query,
    facet: Facet,
    map: ProvinceMap,
) -> tantivy::Result<Vec<FacetCount>> {
    let field = match (facet, map) {
        (Facet::Category, _) => CATEGORY,
        (Facet::Certification, _) => CERTIFICATION,
        (Facet::Province, ProvinceMap::Current) => ORIGIN_CURRENT,
        (Facet::Province, ProvinceMap::Former) => ORIGIN_2008,
        (Facet::Price, _) => PRICE,
    };
    let request = if facet == Facet::Price {
        let ranges: Vec<serde_json::Value> = PRICE_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, from)| match PRICE_BUCKETS.get(i + 1) {
                Some(to) => serde_json::json!({"from": *from as f64, "to": *to as f64}),
                None => serde_json::json!({"from": *from as f64}),
            })
            .collect();
        serde_json::json!({"facet": {"range": {"field": field, "ranges": ranges}}})
    } else {
        // Sizes above every field's number of values: exact counts.
        serde_json::json!({"facet": {"terms": {"field": field, "size": 1000, "min_doc_count": 1}}})
    };
    let request: Aggregations = serde_json::from_value(request)
        .map_err(|e| tantivy::TantivyError::InvalidArgument(e.to_string()))?;
    let collector = AggregationCollector::from_aggs(request, Default::default());
    let results: AggregationResults = searcher.search(query, &collector)?;
    let mut counts = Vec::new();
    for (_, result) in results.0 {
        match result {
            AggregationResult::BucketResult(BucketResult::Terms { buckets, .. }) => {
                for bucket in buckets {
                    let value = match bucket.key {
                        Key::Str(text) => text,
                        other => format!("{other:?}"),
                    };
                    counts.push(FacetCount {
                        value: Some(value),
                        from: None,
                        to: None,
                        count: bucket.doc_count,
                    });
                }
            }
            AggregationResult::BucketResult(BucketResult::Range { buckets }) => {
                let buckets: Vec<_> = match buckets {
                    tantivy::aggregation::agg_result::BucketEntries::Vec(list) => list,
                    tantivy::aggregation::agg_result::BucketEntries::HashMap(map) => {
                        map.into_values().collect()
                    }
                };
                for bucket in buckets {
                    // The range below 0 that tantivy adds holds nothing: prices are not negative.
                    let Some(from) = bucket.from else { continue };
                    counts.push(FacetCount {
                        value: None,
                        from: Some(from as i64),
                        to: bucket.to.map(|to| to as i64),
                        count: bucket.doc_count,
                    });
                }
                counts.sort_by_key(|c| c.from);
            }
            _ => {}
        }
    }
    if facet != Facet::Price {
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    }
    Ok(counts)
}
