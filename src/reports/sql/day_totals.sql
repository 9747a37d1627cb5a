-- The platform's daily rollup rows up to a day ($1), shards summed, oldest first.
SELECT day,
       CAST(SUM(households_joined) AS BIGINT) AS c1, CAST(SUM(households_active) AS BIGINT) AS c2,
       CAST(SUM(products_listed) AS BIGINT) AS c3, CAST(SUM(products_active) AS BIGINT) AS c4,
       CAST(SUM(orders) AS BIGINT) AS c5, CAST(SUM(value_vnd) AS BIGINT) AS c6,
       CAST(SUM(weight_grams) AS BIGINT) AS c7, CAST(SUM(export_weight_grams) AS BIGINT) AS c8,
       CAST(SUM(views) AS BIGINT) AS c9
FROM stats_days
WHERE day <= $1
GROUP BY day
ORDER BY day
