DROP TABLE pending_data_work;
ALTER TABLE orders DROP COLUMN commune_code;
ALTER TABLE orders DROP COLUMN province_map;
DROP INDEX products_origin_current;
ALTER TABLE products DROP COLUMN origin_current_code;
ALTER TABLE products DROP COLUMN origin_map;
DROP INDEX households_current_province_code;
ALTER TABLE households DROP COLUMN current_province_code;
ALTER TABLE households DROP COLUMN commune_code;
