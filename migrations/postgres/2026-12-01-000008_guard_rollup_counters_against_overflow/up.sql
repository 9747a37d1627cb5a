-- Kept in step with SQLite's migration of the same name, which adds guards that refuse a rollup
-- counter pushed past 64 bits. PostgreSQL's bigint arithmetic refuses it by itself ("bigint out of
-- range"), which the service answers with 422 value_out_of_range; nothing to add here but a note.
COMMENT ON TABLE stats_days IS 'Daily platform rollups; bigint counters refuse to overflow (422 value_out_of_range).';
