-- The money metrics of the reports: shipping fees charged on orders (counted on the day placed,
-- like transaction_value_vnd), the platform's commission (on the day a delivered order's share
-- became payable) and payouts to households (on the day paid out).
ALTER TABLE stats_days ADD COLUMN shipping_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_days ADD COLUMN commission_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_days ADD COLUMN payouts_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_household_days ADD COLUMN shipping_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_household_days ADD COLUMN commission_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_household_days ADD COLUMN payouts_vnd BIGINT NOT NULL DEFAULT 0;

-- The overflow guards (see 2026-12-01-000008) cover the new counters too.
DROP TRIGGER stats_days_counters_fit;
CREATE TRIGGER stats_days_counters_fit BEFORE UPDATE ON stats_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
   OR typeof(NEW.views) <> 'integer'
   OR typeof(NEW.shipping_vnd) <> 'integer'
   OR typeof(NEW.commission_vnd) <> 'integer'
   OR typeof(NEW.payouts_vnd) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;

DROP TRIGGER stats_household_days_counters_fit;
CREATE TRIGGER stats_household_days_counters_fit BEFORE UPDATE ON stats_household_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
   OR typeof(NEW.shipping_vnd) <> 'integer'
   OR typeof(NEW.commission_vnd) <> 'integer'
   OR typeof(NEW.payouts_vnd) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;
