-- PostgreSQL searches products through the pg_trgm indexes of an earlier migration; this one
-- exists to keep the two migration folders in step.
SELECT 1;
