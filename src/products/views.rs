//! Product page views, counted in memory and written in batches (every `views.flush_interval`
//! and at shutdown), so that reading a product never waits on a contended row lock.
//! A crash loses at most the views of the last interval; a failed write keeps them for the next.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;

use crate::db::{Database, write_transaction};
use crate::error::AppError;

#[derive(Default)]
pub struct ViewCounter {
    pending: Mutex<HashMap<(String, NaiveDate), i64>>,
}

impl ViewCounter {
    pub fn record(&self, product_id: &str, day: NaiveDate) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *pending.entry((product_id.to_owned(), day)).or_insert(0) += 1;
    }

    /// Views of a product counted here and not written yet.
    pub fn pending(&self, product_id: &str) -> i64 {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .iter()
            .filter(|((id, _), _)| id == product_id)
            .map(|(_, count)| count)
            .sum()
    }

    fn take(&self) -> HashMap<(String, NaiveDate), i64> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn put_back(&self, batch: HashMap<(String, NaiveDate), i64>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (key, count) in batch {
            *pending.entry(key).or_insert(0) += count;
        }
    }

    /// Writes the counted views in one transaction (blocking). On failure they stay counted.
    pub fn flush(&self, database: &Database, timezone: chrono_tz::Tz) -> Result<usize, AppError> {
        let batch = self.take();
        if batch.is_empty() {
            return Ok(0);
        }
        let written = database.run_blocking(|conn| {
            write_transaction(conn, |conn| {
                // Sorted (BTreeMap order): two servers' flushes lock rows in the same order.
                let entries: Vec<(String, NaiveDate, i64)> = batch
                    .iter()
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_iter()
                    .map(|((product_id, day), count)| (product_id.clone(), *day, *count))
                    .collect();
                crate::products::repo::add_views(conn, &entries)?;
                let mut rollups = crate::reports::rollups::RollupBatch::new(timezone);
                for (_, day, count) in &entries {
                    rollups.views(*day, *count);
                }
                rollups.write_at_commit(conn)?;
                Ok::<_, AppError>(batch.len())
            })
        });
        if written.is_err() {
            self.put_back(batch);
        }
        written
    }
}
