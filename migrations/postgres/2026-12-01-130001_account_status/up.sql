-- Accounts can be suspended by an admin: their tokens are revoked and they cannot sign in.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended'));

-- Households suspended because their owner's account was: reinstating the account reactivates
-- these and only these (a household an admin suspended on its own stays suspended).
CREATE TABLE households_suspended_with_owner (
    household_id TEXT PRIMARY KEY REFERENCES households (id) ON DELETE CASCADE,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX households_suspended_with_owner_owner ON households_suspended_with_owner (owner_id);
