ALTER TABLE current_provinces DROP COLUMN region;
ALTER TABLE provinces DROP COLUMN region;
