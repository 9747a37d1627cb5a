//! What a household's changes tell the statistics.

use super::model::HouseholdStatus;
use super::repo::Household;
use crate::stats::{HouseholdJoined, HouseholdStatusChanged};

impl Household {
    /// The household came onto the platform.
    pub fn joined(&self) -> HouseholdJoined {
        HouseholdJoined {
            household_id: self.id.to_db(),
            joined_at: self.joined_at,
            active: self.status == HouseholdStatus::Active,
        }
    }

    /// Its status changes to `new_status` (suspended households leave the totals).
    pub fn status_changed(&self, new_status: HouseholdStatus) -> HouseholdStatusChanged {
        HouseholdStatusChanged {
            household_id: self.id.to_db(),
            joined_at: self.joined_at,
            was_active: self.status == HouseholdStatus::Active,
            is_active: new_status == HouseholdStatus::Active,
        }
    }
}
