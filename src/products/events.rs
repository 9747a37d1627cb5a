//! What a product's changes tell the statistics.

use super::model::STATUS_ARCHIVED;
use super::repo::Product;
use crate::stats::{ProductListed, ProductStatusChanged};

impl Product {
    /// The product was listed.
    pub fn listed(&self) -> ProductListed {
        ProductListed {
            product_id: self.id.clone(),
            created_at: self.created_at,
            active: self.status != STATUS_ARCHIVED,
        }
    }

    /// Its status changes to `new_status` (archived products leave the totals).
    pub fn status_changed(&self, new_status: &str) -> ProductStatusChanged {
        ProductStatusChanged {
            product_id: self.id.clone(),
            created_at: self.created_at,
            was_active: self.status != STATUS_ARCHIVED,
            is_active: new_status != STATUS_ARCHIVED,
        }
    }
}
