-- The change feed the search index follows. Triggers write a row for every change a search
-- can see (any change of a product, whose row a search answers with; a household's name or
-- status), in the writing transaction, so no code path can forget it.
-- Transactions commit in another order than they draw `seq`, so a server does not follow
-- `seq`: each row keeps its transaction id, and a server reads the rows of the transactions
-- that ended between its last read and the oldest one still running
-- (see `POSTGRES_HORIZON` in src/catalogue/repo.rs), which are all visible and final.
CREATE TABLE search_changes (
    seq BIGSERIAL PRIMARY KEY,
    txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    product_id TEXT,
    household_id TEXT,
    changed_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX search_changes_txid ON search_changes (txid);
CREATE INDEX search_changes_changed_at ON search_changes (changed_at);

CREATE FUNCTION record_product_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO search_changes (product_id) VALUES (OLD.id);
        RETURN OLD;
    END IF;
    INSERT INTO search_changes (product_id) VALUES (NEW.id);
    RETURN NEW;
END $$;

CREATE FUNCTION record_household_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_changes (household_id) VALUES (NEW.id);
    RETURN NEW;
END $$;

CREATE TRIGGER products_search_insert_delete AFTER INSERT OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION record_product_search_change();
CREATE TRIGGER products_search_update AFTER UPDATE ON products FOR EACH ROW
    EXECUTE FUNCTION record_product_search_change();
CREATE TRIGGER households_search_update AFTER UPDATE ON households FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION record_household_search_change();
