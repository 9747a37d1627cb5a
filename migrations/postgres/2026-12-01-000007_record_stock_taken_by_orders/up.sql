-- Whether placing the order took its items' stock: live orders do, imported history does not,
-- so cancelling an imported order must return none. Orders stored before this column existed
-- cannot be told apart and count as live.
ALTER TABLE orders ADD COLUMN stock_taken BOOLEAN NOT NULL DEFAULT TRUE;
