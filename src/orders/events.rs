//! What an order tells the statistics.

use super::model::{HOME_COUNTRY, OrderStatus};
use super::repo::{Order, OrderItem};
use crate::stats::{OrderLine, OrderPlaced};

impl Order {
    /// The order as the statistics count it, with its lines; `None` for a cancelled order, which
    /// never counts.
    pub fn placed(&self, items: &[OrderItem]) -> Option<OrderPlaced> {
        if self.status == OrderStatus::Cancelled {
            return None;
        }
        Some(self.counted(items))
    }

    /// The order as it counted until now (for its cancellation, whatever its status already is).
    pub fn counted(&self, items: &[OrderItem]) -> OrderPlaced {
        OrderPlaced {
            household_id: self.household_id.to_db(),
            placed_at: self.placed_at,
            country_code: self.country_code.clone(),
            exported: self.country_code != HOME_COUNTRY,
            total_vnd: self.total_vnd,
            shipping_vnd: self.shipping_vnd,
            total_weight_grams: self.total_weight_grams,
            lines: items
                .iter()
                .map(|item| OrderLine {
                    product_id: item.product_id.to_db(),
                    category: item.product_category.clone(),
                    quantity: item.quantity,
                    unit_weight_grams: item.unit_weight_grams,
                    line_total_vnd: item.line_total_vnd,
                })
                .collect(),
        }
    }
}
