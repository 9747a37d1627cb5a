-- The platform's counters for a period ($1..$2) and the compared one ($4..$5), one row each
-- (`which` 0 and 1): flows summed over the period's days, and the *_active totals as of its end:
-- the months before the end's month ($3 and $6, its first day) plus that month's days. Bounded by
-- the number of days in the period and of months on record, whatever the amount of data.
SELECT 0 AS which, f.c1, a.c2, f.c3, a.c4, f.c5, f.c6, f.c7, f.c8, f.c9
FROM (SELECT CAST(COALESCE(SUM(households_joined), 0) AS BIGINT) AS c1,
           CAST(COALESCE(SUM(products_listed), 0) AS BIGINT) AS c3,
           CAST(COALESCE(SUM(orders), 0) AS BIGINT) AS c5,
           CAST(COALESCE(SUM(value_vnd), 0) AS BIGINT) AS c6,
           CAST(COALESCE(SUM(weight_grams), 0) AS BIGINT) AS c7,
           CAST(COALESCE(SUM(export_weight_grams), 0) AS BIGINT) AS c8,
           CAST(COALESCE(SUM(views), 0) AS BIGINT) AS c9
      FROM stats_days WHERE day >= $1 AND day <= $2) f,
     (SELECT CAST(COALESCE(SUM(h), 0) AS BIGINT) AS c2, CAST(COALESCE(SUM(p), 0) AS BIGINT) AS c4
      FROM (SELECT households_active AS h, products_active AS p FROM stats_active_months WHERE month < $3
            UNION ALL
            SELECT households_active, products_active FROM stats_days WHERE day >= $3 AND day <= $2) t) a
UNION ALL
SELECT 1 AS which, f.c1, a.c2, f.c3, a.c4, f.c5, f.c6, f.c7, f.c8, f.c9
FROM (SELECT CAST(COALESCE(SUM(households_joined), 0) AS BIGINT) AS c1,
           CAST(COALESCE(SUM(products_listed), 0) AS BIGINT) AS c3,
           CAST(COALESCE(SUM(orders), 0) AS BIGINT) AS c5,
           CAST(COALESCE(SUM(value_vnd), 0) AS BIGINT) AS c6,
           CAST(COALESCE(SUM(weight_grams), 0) AS BIGINT) AS c7,
           CAST(COALESCE(SUM(export_weight_grams), 0) AS BIGINT) AS c8,
           CAST(COALESCE(SUM(views), 0) AS BIGINT) AS c9
      FROM stats_days WHERE day >= $4 AND day <= $5) f,
     (SELECT CAST(COALESCE(SUM(h), 0) AS BIGINT) AS c2, CAST(COALESCE(SUM(p), 0) AS BIGINT) AS c4
      FROM (SELECT households_active AS h, products_active AS p FROM stats_active_months WHERE month < $6
            UNION ALL
            SELECT households_active, products_active FROM stats_days WHERE day >= $6 AND day <= $5) t) a
