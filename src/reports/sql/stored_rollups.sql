-- Every rollup row in one shape: kind, up to two text keys, the day and nine counters.
SELECT 'day' AS kind, '' AS key1, '' AS key2, day,
       households_joined AS c1, households_active AS c2, products_listed AS c3, products_active AS c4,
       orders AS c5, value_vnd AS c6, weight_grams AS c7, export_weight_grams AS c8, views AS c9
FROM stats_days
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
