-- Product search on SQLite: an FTS5 trigram index over the folded search text, kept in step by
-- triggers. `MATCH '"vai" AND "thieu"'` finds substrings of 3+ characters without a table scan.
CREATE VIRTUAL TABLE products_fts USING fts5(search_text, content = 'products', content_rowid = 'rowid', tokenize = 'trigram');
INSERT INTO products_fts (products_fts) VALUES ('rebuild');
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF search_text ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO products_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
