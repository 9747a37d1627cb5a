-- Product counters per group over $1..$2 (grouped by the product's household or category).
-- {key} and {counters} are filled in from fixed lists in read.rs, never from input.
SELECT {key} AS key, {counters}
FROM stats_product_days s
JOIN products p ON p.id = s.product_id
JOIN households h ON h.id = p.household_id
WHERE s.day <= $2
GROUP BY {key}
