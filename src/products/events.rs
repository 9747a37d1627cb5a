//! What a product's changes tell the statistics.

use super::model::ProductStatus;
use super::repo::Product;
use crate::stats::{ProductListed, ProductStatusChanged};

impl Product {
    /// The product was listed.
    pub fn listed(&self) -> ProductListed {
        ProductListed {
            product_id: self.id.to_db(),
            created_at: self.created_at,
            active: self.status != ProductStatus::Archived,
        }
    }

    /// Its status changes to `new_status` (archived products leave the totals).
    pub fn status_changed(&self, new_status: ProductStatus) -> ProductStatusChanged {
        ProductStatusChanged {
            product_id: self.id.to_db(),
            created_at: self.created_at,
            was_active: self.status != ProductStatus::Archived,
            is_active: new_status != ProductStatus::Archived,
        }
    }
}
