-- Orders per product category over $1..$2: an order counts once in each category it has lines in.
-- {counters} is generated in read.rs from the metrics the table keeps.
SELECT s.category AS key, {counters}
FROM stats_category_days s
WHERE s.day >= $1 AND s.day <= $2
GROUP BY s.category
