-- The change feed the search index follows. Triggers write a row for every change a search
-- can see (any change of a product, whose row a search answers with; a household's name or
-- status), in the writing transaction, so no code path can forget it.
-- SQLite commits one writer at a time, so rows become visible in `seq` order: a server
-- reads `seq > last` and misses none.
CREATE TABLE search_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT,
    household_id TEXT,
    changed_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX search_changes_changed_at ON search_changes (changed_at);

CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO search_changes (product_id) VALUES (new.id);
END;
CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN
    INSERT INTO search_changes (product_id) VALUES (old.id);
END;
CREATE TRIGGER products_search_update AFTER UPDATE ON products
BEGIN
    INSERT INTO search_changes (product_id) VALUES (new.id);
END;
CREATE TRIGGER households_search_update AFTER UPDATE ON households
WHEN old.name IS NOT new.name OR old.status IS NOT new.status
BEGIN
    INSERT INTO search_changes (household_id) VALUES (new.id);
END;
