-- The money metrics of the reports: shipping fees charged on orders (counted on the day placed,
-- like transaction_value_vnd), the platform's commission (on the day a delivered order's share
-- became payable) and payouts to households (on the day paid out).
ALTER TABLE stats_days ADD COLUMN shipping_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_days ADD COLUMN commission_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_days ADD COLUMN payouts_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_household_days ADD COLUMN shipping_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_household_days ADD COLUMN commission_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_household_days ADD COLUMN payouts_vnd BIGINT NOT NULL DEFAULT 0;
