-- Orders per product category over $1..$2: an order counts once in each category it has lines in.
SELECT s.category AS key,
       CAST(0 AS BIGINT) AS c1, CAST(0 AS BIGINT) AS c2, CAST(0 AS BIGINT) AS c3, CAST(0 AS BIGINT) AS c4,
       CAST(COALESCE(SUM(s.orders), 0) AS BIGINT) AS c5,
       CAST(COALESCE(SUM(s.value_vnd), 0) AS BIGINT) AS c6,
       CAST(COALESCE(SUM(s.weight_grams), 0) AS BIGINT) AS c7,
       CAST(COALESCE(SUM(s.export_weight_grams), 0) AS BIGINT) AS c8,
       CAST(0 AS BIGINT) AS c9
FROM stats_category_days s
WHERE s.day >= $1 AND s.day <= $2
GROUP BY s.category
