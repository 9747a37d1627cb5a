-- Every product matching the filters with its own order lines over $1..$2 (none: zeros).
-- {filters} is built in read.rs from fixed fragments with bound parameters.
SELECT p.id AS product_id, p.name AS name, p.household_id AS household_id,
       CAST(COALESCE(SUM(s.orders), 0) AS BIGINT) AS orders,
       CAST(COALESCE(SUM(s.value_vnd), 0) AS BIGINT) AS value_vnd,
       CAST(COALESCE(SUM(s.weight_grams), 0) AS BIGINT) AS weight_grams,
       CAST(COALESCE(SUM(s.export_weight_grams), 0) AS BIGINT) AS export_weight_grams
FROM products p
LEFT JOIN stats_product_days s ON s.product_id = p.id AND s.day >= $1 AND s.day <= $2
WHERE 1 = 1 {filters}
GROUP BY p.id, p.name, p.household_id
