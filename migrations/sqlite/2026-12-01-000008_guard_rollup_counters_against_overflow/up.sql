-- SQLite turns an integer sum past 64 bits into a floating-point number without a word, so a
-- rollup counter pushed past it would silently hold a wrong, rounded total. These guards refuse
-- such an update with SQLite's own overflow message instead (the service answers 422
-- value_out_of_range and nothing of the write is kept). PostgreSQL's bigint refuses it by itself.
-- Only the counters that orders and views add to: the household and product counts cannot get
-- anywhere near the limit.

CREATE TRIGGER stats_days_counters_fit BEFORE UPDATE ON stats_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
   OR typeof(NEW.views) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;

CREATE TRIGGER stats_household_days_counters_fit BEFORE UPDATE ON stats_household_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;

CREATE TRIGGER stats_product_days_counters_fit BEFORE UPDATE ON stats_product_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;

CREATE TRIGGER stats_product_export_days_counters_fit BEFORE UPDATE ON stats_product_export_days
WHEN typeof(NEW.weight_grams) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;

CREATE TRIGGER stats_category_days_counters_fit BEFORE UPDATE ON stats_category_days
WHEN typeof(NEW.orders) <> 'integer'
   OR typeof(NEW.value_vnd) <> 'integer'
   OR typeof(NEW.weight_grams) <> 'integer'
   OR typeof(NEW.export_weight_grams) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;
