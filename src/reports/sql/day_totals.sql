-- The platform's daily rollup rows up to a day ($1), oldest first.
SELECT day,
       households_joined AS c1, households_active AS c2, products_listed AS c3, products_active AS c4,
       orders AS c5, value_vnd AS c6, weight_grams AS c7, export_weight_grams AS c8, views AS c9
FROM stats_days
WHERE day <= $1
ORDER BY day
