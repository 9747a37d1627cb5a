-- Views per matching product over $1..$2.
SELECT v.product_id AS key, CAST(COALESCE(SUM(v.views), 0) AS BIGINT) AS amount, '' AS country_code
FROM product_view_days v
JOIN products p ON p.id = v.product_id
WHERE v.day >= $1 AND v.day <= $2 {filters}
GROUP BY v.product_id
