-- Exported grams per matching product and destination over $1..$2.
SELECT e.product_id AS key, CAST(COALESCE(SUM(e.weight_grams), 0) AS BIGINT) AS amount, e.country_code AS country_code
FROM stats_product_export_days e
JOIN products p ON p.id = e.product_id
WHERE e.day >= $1 AND e.day <= $2 {filters}
GROUP BY e.product_id, e.country_code
