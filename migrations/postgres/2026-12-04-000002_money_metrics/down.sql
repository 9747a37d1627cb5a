ALTER TABLE stats_household_days DROP COLUMN payouts_vnd;
ALTER TABLE stats_household_days DROP COLUMN commission_vnd;
ALTER TABLE stats_household_days DROP COLUMN shipping_vnd;
ALTER TABLE stats_days DROP COLUMN payouts_vnd;
ALTER TABLE stats_days DROP COLUMN commission_vnd;
ALTER TABLE stats_days DROP COLUMN shipping_vnd;
