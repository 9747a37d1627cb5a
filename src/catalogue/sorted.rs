//! The page of a sort by a fast field (newest, price, popular), ties broken by id (newest first,
//! as the database's listing does), counted in the same pass.
//!
//! tantivy's sort-key collector keeps each candidate as three optional values and reads all three
//! columns for every match that beats the page's threshold. Listings sit in the index in the order
//! they were added, so sorting newest first (or by views, where most are equal and the ids rise
//! with time) every match beats it: at 100k listings that was half a sorted search's time. Here a
//! candidate is one number, the value above the id's high half; the id's low half is read only for
//! what is left at the end, to order the (rare) candidates whose high halves are equal.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocAddress, DocId, Order, Score, SegmentOrdinal, SegmentReader};

use super::document::{ID_HIGH, ID_LOW};

/// The `offset..offset + limit` matches by an i64 fast field, and how many match.
pub struct ByValueThenId {
    pub field: &'static str,
    pub order: Order,
    pub offset: usize,
    pub limit: usize,
}

/// A match's place: greater comes first. The value's rank above the id's high half.
type Rank = u128;

/// The rank of a value in `order`: greater comes first.
fn value_rank(value: i64, order: Order) -> u64 {
    // Flipping the sign bit keeps the order of i64 in u64.
    let ascending = (value as u64) ^ (1 << 63);
    match order {
        Order::Desc => ascending,
        Order::Asc => !ascending,
    }
}

fn rank(value_rank: u64, id_high: u64) -> Rank {
    (u128::from(value_rank) << 64) | u128::from(id_high)
}

impl Collector for ByValueThenId {
    type Fruit = (Vec<DocAddress>, usize);
    type Child = SegmentPage;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentPage> {
        let fast = reader.fast_fields();
        let wanted = self.offset + self.limit;
        Ok(SegmentPage {
            segment,
            value: fast.i64(self.field)?,
            id_high: fast.u64(ID_HIGH)?,
            id_low: fast.u64(ID_LOW)?,
            order: self.order,
            wanted,
            kept: Vec::with_capacity(2 * wanted),
            room: 2 * wanted,
            threshold: 0,
            count: 0,
            values: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        segments: Vec<(Vec<((Rank, u64), DocAddress)>, usize)>,
    ) -> tantivy::Result<Self::Fruit> {
        let count = segments.iter().map(|(_, count)| count).sum();
        let mut all: Vec<_> = segments.into_iter().flat_map(|(page, _)| page).collect();
        all.sort_unstable_by_key(|(key, _)| std::cmp::Reverse(*key));
        let page = all
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|(_, address)| address)
            .collect();
        Ok((page, count))
    }
}

pub struct SegmentPage {
    segment: SegmentOrdinal,
    value: Column<i64>,
    id_high: Column<u64>,
    id_low: Column<u64>,
    order: Order,
    /// `offset + limit`.
    wanted: usize,
    /// Candidates, at most `room` before the worst are dropped.
    kept: Vec<(Rank, DocId)>,
    room: usize,
    /// The rank a match needs to be kept: the `wanted`th best kept so far.
    threshold: Rank,
    count: usize,
    values: Vec<Option<i64>>,
}

impl SegmentPage {
    fn consider(&mut self, doc: DocId, value: Option<i64>) {
        // Every listing has each sort value; one without would come last.
        let value_rank = value.map_or(0, |value| value_rank(value, self.order));
        // The id is read only when the value can still make the page.
        if rank(value_rank, u64::MAX) < self.threshold {
            return;
        }
        let rank = rank(value_rank, self.id_high.first(doc).unwrap_or(0));
        if rank < self.threshold {
            return;
        }
        self.kept.push((rank, doc));
        if self.kept.len() >= self.room {
            self.drop_worst();
        }
    }

    /// Keeps the `wanted` best and those tied with the last of them (their ids' low halves
    /// decide at the end).
    fn drop_worst(&mut self) {
        let last = self.wanted - 1;
        self.kept.select_nth_unstable_by(last, |a, b| b.0.cmp(&a.0));
        self.threshold = self.kept[last].0;
        let threshold = self.threshold;
        self.kept.retain(|(rank, _)| *rank >= threshold);
        self.room = self.room.max(2 * self.kept.len());
    }
}

impl SegmentCollector for SegmentPage {
    type Fruit = (Vec<((Rank, u64), DocAddress)>, usize);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.count += docs.len();
        if self.wanted == 0 {
            return;
        }
        let mut values = std::mem::take(&mut self.values);
        values.clear();
        values.resize(docs.len(), None);
        self.value.first_vals(docs, &mut values);
        for (doc, value) in docs.iter().zip(&values) {
            self.consider(*doc, *value);
        }
        self.values = values;
    }

    fn harvest(self) -> Self::Fruit {
        let mut page: Vec<_> = self
            .kept
            .into_iter()
            .map(|(rank, doc)| {
                let low = self.id_low.first(doc).unwrap_or(0);
                ((rank, low), DocAddress::new(self.segment, doc))
            })
            .collect();
        page.sort_unstable_by_key(|(key, _)| std::cmp::Reverse(*key));
        page.truncate(self.wanted);
        (page, self.count)
    }
}

#[cfg(test)]
mod tests {
    use tantivy::query::AllQuery;
    use tantivy::schema::{FAST, Schema};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    #[test]
    fn value_ranks_keep_the_order_of_values() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for pair in values.windows(2) {
            assert!(value_rank(pair[0], Order::Desc) < value_rank(pair[1], Order::Desc));
            assert!(value_rank(pair[0], Order::Asc) > value_rank(pair[1], Order::Asc));
        }
    }

    /// Pages of many matches over several segments, with values that tie and ids whose high
    /// halves tie, in rising order (the worst case) and mixed: the same as sorting them all.
    #[test]
    fn pages_are_those_of_sorting_every_match() -> tantivy::Result<()> {
        let mut schema = Schema::builder();
        let value = schema.add_i64_field("value", FAST);
        let high = schema.add_u64_field(ID_HIGH, FAST);
        let low = schema.add_u64_field(ID_LOW, FAST);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        let mut all = Vec::new();
        for n in 0..3_000u64 {
            // Rising for the first half, then scattered; a tenth of high halves shared.
            let v = if n < 1_500 {
                n as i64 / 3
            } else {
                ((n * 7_919) % 101) as i64 - 50
            };
            let (h, l) = (if n % 10 == 0 { 42 } else { n * 31 % 977 }, n);
            let mut doc = TantivyDocument::default();
            doc.add_i64(value, v);
            doc.add_u64(high, h);
            doc.add_u64(low, l);
            writer.add_document(doc)?;
            all.push((v, h, l));
            if n % 1_000 == 999 {
                writer.commit()?;
            }
        }
        let searcher = index.reader()?.searcher();
        let low_of = |address: DocAddress| {
            let column = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .u64(ID_LOW);
            column.ok().and_then(|c| c.first(address.doc_id)).unwrap()
        };
        for order in [Order::Desc, Order::Asc] {
            let mut expected = all.clone();
            expected.sort_by(|a, b| {
                let by_value = match order {
                    Order::Desc => b.0.cmp(&a.0),
                    Order::Asc => a.0.cmp(&b.0),
                };
                by_value.then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2))
            });
            for (offset, limit) in [(0, 20), (40, 20), (0, 1), (2_990, 20), (0, 0)] {
                let collector = ByValueThenId {
                    field: "value",
                    order,
                    offset,
                    limit,
                };
                let (page, count) = searcher.search(&AllQuery, &collector)?;
                assert_eq!(count, all.len());
                let lows: Vec<u64> = page.into_iter().map(low_of).collect();
                let wanted: Vec<u64> = expected
                    .iter()
                    .skip(offset)
                    .take(limit)
                    .map(|e| e.2)
                    .collect();
                assert_eq!(lows, wanted, "{order:?} {offset}+{limit}");
            }
        }
        Ok(())
    }
}
