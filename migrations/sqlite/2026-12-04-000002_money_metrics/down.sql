DROP TRIGGER stats_household_days_counters_fit;
CREATE TRIGGER stats_household_days_counters_fit BEFORE UPDATE ON stats_household_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;
DROP TRIGGER stats_days_counters_fit;
CREATE TRIGGER stats_days_counters_fit BEFORE UPDATE ON stats_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
   OR typeof(NEW.views) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;
ALTER TABLE stats_household_days DROP COLUMN payouts_vnd;
ALTER TABLE stats_household_days DROP COLUMN commission_vnd;
ALTER TABLE stats_household_days DROP COLUMN shipping_vnd;
ALTER TABLE stats_days DROP COLUMN payouts_vnd;
ALTER TABLE stats_days DROP COLUMN commission_vnd;
ALTER TABLE stats_days DROP COLUMN shipping_vnd;
