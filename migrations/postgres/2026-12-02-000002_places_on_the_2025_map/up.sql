-- Places on both maps. Households keep their 2008 province (province_code) and gain the current
-- one and, when given, their commune; a product's origin is kept as given, with its map, and the
-- current province it lies in; an order's shipping province says its map and may name a commune.
-- Rows written before this keep their meaning: their codes are of the 2008 map.

ALTER TABLE households ADD COLUMN commune_code TEXT REFERENCES communes (code);
ALTER TABLE households ADD COLUMN current_province_code TEXT REFERENCES current_provinces (code);
UPDATE households SET current_province_code =
    (SELECT current_code FROM provinces WHERE provinces.code = households.province_code);
CREATE INDEX households_current_province_code ON households (current_province_code);

ALTER TABLE products ADD COLUMN origin_map TEXT NOT NULL DEFAULT '2008'
    CHECK (origin_map IN ('2008', 'current'));
ALTER TABLE products ADD COLUMN origin_current_code TEXT REFERENCES current_provinces (code);
UPDATE products SET origin_current_code =
    (SELECT current_code FROM provinces WHERE provinces.code = products.origin_province_code);
CREATE INDEX products_origin_current ON products (origin_current_code);

ALTER TABLE orders ADD COLUMN province_map TEXT NOT NULL DEFAULT '2008'
    CHECK (province_map IN ('2008', 'current'));
ALTER TABLE orders ADD COLUMN commune_code TEXT REFERENCES communes (code);

-- Work on the data that SQL cannot do (folding text needs the service's code): the server does
-- each named task at startup and deletes its row once the task is complete, so a process killed
-- half-way does the task again at its next start.
CREATE TABLE pending_data_work (name TEXT PRIMARY KEY);
INSERT INTO pending_data_work (name) VALUES ('product_search_texts');
