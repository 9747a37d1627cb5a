//! What a household's changes tell the statistics.

use super::model::STATUS_ACTIVE;
use super::repo::Household;
use crate::stats::{HouseholdJoined, HouseholdStatusChanged};

impl Household {
    /// The household came onto the platform.
    pub fn joined(&self) -> HouseholdJoined {
        HouseholdJoined {
            household_id: self.id.clone(),
            joined_at: self.joined_at,
            active: self.status == STATUS_ACTIVE,
        }
    }

    /// Its status changes to `new_status` (suspended households leave the totals).
    pub fn status_changed(&self, new_status: &str) -> HouseholdStatusChanged {
        HouseholdStatusChanged {
            household_id: self.id.clone(),
            joined_at: self.joined_at,
            was_active: self.status == STATUS_ACTIVE,
            is_active: new_status == STATUS_ACTIVE,
        }
    }
}
