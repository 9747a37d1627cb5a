-- The platform's counters for a period ($1..$2) and the compared one ($3..$4), one row each
-- (`which` 0 and 1): flows over the period, *_active summed up to its end (the totals).
-- Bounded by the number of days and shards, whatever the amount of data.
SELECT 0 AS which,
    CAST(COALESCE(SUM(CASE WHEN day >= $1 THEN households_joined ELSE 0 END), 0) AS BIGINT) AS c1,
    CAST(COALESCE(SUM(households_active), 0) AS BIGINT) AS c2,
    CAST(COALESCE(SUM(CASE WHEN day >= $1 THEN products_listed ELSE 0 END), 0) AS BIGINT) AS c3,
    CAST(COALESCE(SUM(products_active), 0) AS BIGINT) AS c4,
    CAST(COALESCE(SUM(CASE WHEN day >= $1 THEN orders ELSE 0 END), 0) AS BIGINT) AS c5,
    CAST(COALESCE(SUM(CASE WHEN day >= $1 THEN value_vnd ELSE 0 END), 0) AS BIGINT) AS c6,
    CAST(COALESCE(SUM(CASE WHEN day >= $1 THEN weight_grams ELSE 0 END), 0) AS BIGINT) AS c7,
    CAST(COALESCE(SUM(CASE WHEN day >= $1 THEN export_weight_grams ELSE 0 END), 0) AS BIGINT) AS c8,
    CAST(COALESCE(SUM(CASE WHEN day >= $1 THEN views ELSE 0 END), 0) AS BIGINT) AS c9
FROM stats_days
WHERE day <= $2
UNION ALL
SELECT 1 AS which,
    CAST(COALESCE(SUM(CASE WHEN day >= $3 THEN households_joined ELSE 0 END), 0) AS BIGINT) AS c1,
    CAST(COALESCE(SUM(households_active), 0) AS BIGINT) AS c2,
    CAST(COALESCE(SUM(CASE WHEN day >= $3 THEN products_listed ELSE 0 END), 0) AS BIGINT) AS c3,
    CAST(COALESCE(SUM(products_active), 0) AS BIGINT) AS c4,
    CAST(COALESCE(SUM(CASE WHEN day >= $3 THEN orders ELSE 0 END), 0) AS BIGINT) AS c5,
    CAST(COALESCE(SUM(CASE WHEN day >= $3 THEN value_vnd ELSE 0 END), 0) AS BIGINT) AS c6,
    CAST(COALESCE(SUM(CASE WHEN day >= $3 THEN weight_grams ELSE 0 END), 0) AS BIGINT) AS c7,
    CAST(COALESCE(SUM(CASE WHEN day >= $3 THEN export_weight_grams ELSE 0 END), 0) AS BIGINT) AS c8,
    CAST(COALESCE(SUM(CASE WHEN day >= $3 THEN views ELSE 0 END), 0) AS BIGINT) AS c9
FROM stats_days
WHERE day <= $4
