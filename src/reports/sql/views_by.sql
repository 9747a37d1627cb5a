-- Product page views per group over $1..$2.
SELECT {key} AS key,
       CAST(0 AS BIGINT) AS c1, CAST(0 AS BIGINT) AS c2, CAST(0 AS BIGINT) AS c3, CAST(0 AS BIGINT) AS c4,
       CAST(0 AS BIGINT) AS c5, CAST(0 AS BIGINT) AS c6, CAST(0 AS BIGINT) AS c7, CAST(0 AS BIGINT) AS c8,
       CAST(COALESCE(SUM(v.views), 0) AS BIGINT) AS c9
FROM product_view_days v
JOIN products p ON p.id = v.product_id
JOIN households h ON h.id = p.household_id
WHERE v.day >= $1 AND v.day <= $2
GROUP BY {key}
