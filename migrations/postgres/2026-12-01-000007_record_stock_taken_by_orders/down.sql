ALTER TABLE orders DROP COLUMN stock_taken;
