//! A query whose matches are those of one required query, and whose score adds the scores of
//! optional queries where they match too ("bonuses": exact diacritics, words side by side).
//!
//! tantivy's boolean query does the same with its optional clauses joined into one union,
//! which it moves forward a window of 4,096 documents at a time, scoring every document of the
//! window, wanted or not. A search visits only the documents its words have in common, so
//! here each bonus skips straight to the next of them on its own postings.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};

#[derive(Debug)]
pub struct WithBonuses {
    pub required: Box<dyn Query>,
    pub bonuses: Vec<Box<dyn Query>>,
}

impl Clone for WithBonuses {
    fn clone(&self) -> Self {
        WithBonuses {
            required: self.required.box_clone(),
            bonuses: self.bonuses.iter().map(|bonus| bonus.box_clone()).collect(),
        }
    }
}

impl Query for WithBonuses {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let required = self.required.weight(scoring)?;
        if !scoring.is_scoring_enabled() || self.bonuses.is_empty() {
            // Nothing to add: the required query's own weight keeps its fastest ways to count
            // and collect.
            return Ok(required);
        }
        let bonuses = self
            .bonuses
            .iter()
            .map(|bonus| bonus.weight(scoring))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(WithBonusesWeight { required, bonuses }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.required.query_terms(visitor);
        for bonus in &self.bonuses {
            bonus.query_terms(visitor);
        }
    }
}

struct WithBonusesWeight {
    required: Box<dyn Weight>,
    bonuses: Vec<Box<dyn Weight>>,
}

impl Weight for WithBonusesWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let required = self.required.scorer(reader, boost)?;
        let bonuses = self
            .bonuses
            .iter()
            .map(|bonus| bonus.scorer(reader, boost))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(BonusScorer { required, bonuses }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut explanation = self.required.explain(reader, doc)?;
        for bonus in &self.bonuses {
            if let Ok(found) = bonus.explain(reader, doc) {
                explanation.add_detail(found);
            }
        }
        Ok(explanation)
    }
}

struct BonusScorer {
    required: Box<dyn Scorer>,
    bonuses: Vec<Box<dyn Scorer>>,
}

impl DocSet for BonusScorer {
    fn advance(&mut self) -> DocId {
        self.required.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.required.seek(target)
    }

    fn doc(&self) -> DocId {
        self.required.doc()
    }

    fn size_hint(&self) -> u32 {
        self.required.size_hint()
    }

    fn cost(&self) -> u64 {
        self.required.cost()
    }
}

impl Scorer for BonusScorer {
    fn score(&mut self) -> Score {
        let doc = self.required.doc();
        let mut score = self.required.score();
        for bonus in &mut self.bonuses {
            // Documents only move forward: a bonus ahead of this one may match a later one.
            if bonus.doc() < doc {
                bonus.seek(doc);
            }
            if bonus.doc() == doc {
                score += bonus.score();
            }
        }
        score
    }
}
