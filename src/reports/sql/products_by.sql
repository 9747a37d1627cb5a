-- Product counters per group over $1..$2 (grouped by the product's household or category).
SELECT {key} AS key,
       CAST(0 AS BIGINT) AS c1,
       CAST(0 AS BIGINT) AS c2,
       CAST(COALESCE(SUM(CASE WHEN s.day >= $1 THEN s.products_listed ELSE 0 END), 0) AS BIGINT) AS c3,
       CAST(COALESCE(SUM(s.products_active), 0) AS BIGINT) AS c4,
       CAST(0 AS BIGINT) AS c5,
       CAST(0 AS BIGINT) AS c6,
       CAST(0 AS BIGINT) AS c7,
       CAST(0 AS BIGINT) AS c8,
       CAST(0 AS BIGINT) AS c9
FROM stats_product_days s
JOIN products p ON p.id = s.product_id
JOIN households h ON h.id = p.household_id
WHERE s.day <= $2
GROUP BY {key}
