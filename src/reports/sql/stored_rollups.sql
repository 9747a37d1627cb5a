-- Every rollup row in one shape: kind, up to two text keys, the day and nine counters
-- (the platform's daily shards summed).
SELECT 'day' AS kind, '' AS key1, '' AS key2, day,
       CAST(SUM(households_joined) AS BIGINT) AS c1, CAST(SUM(households_active) AS BIGINT) AS c2,
       CAST(SUM(products_listed) AS BIGINT) AS c3, CAST(SUM(products_active) AS BIGINT) AS c4,
       CAST(SUM(orders) AS BIGINT) AS c5, CAST(SUM(value_vnd) AS BIGINT) AS c6,
       CAST(SUM(weight_grams) AS BIGINT) AS c7, CAST(SUM(export_weight_grams) AS BIGINT) AS c8,
       CAST(SUM(views) AS BIGINT) AS c9
FROM stats_days
GROUP BY day
UNION ALL
SELECT 'household', household_id, '', day, households_joined, households_active, 0, 0,
       orders, value_vnd, weight_grams, export_weight_grams, 0
FROM stats_household_days
UNION ALL
SELECT 'product', product_id, '', day, 0, 0, products_listed, products_active,
       orders, value_vnd, weight_grams, export_weight_grams, 0
FROM stats_product_days
UNION ALL
SELECT 'export', product_id, country_code, day, 0, 0, 0, 0, 0, 0, 0, weight_grams, 0
FROM stats_product_export_days
UNION ALL
SELECT 'category', household_id, category, day, 0, 0, 0, 0,
       orders, value_vnd, weight_grams, export_weight_grams, 0
FROM stats_category_days
UNION ALL
SELECT 'month', '', '', month, 0, households_active, 0, products_active, 0, 0, 0, 0, 0
FROM stats_active_months
