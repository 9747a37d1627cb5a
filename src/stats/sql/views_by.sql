-- Product page views per group over $1..$2.
-- {key} and {counters} are filled in from fixed lists in read.rs, never from input.
SELECT {key} AS key, {counters}
FROM product_view_days v
JOIN products p ON p.id = v.product_id
JOIN households h ON h.id = p.household_id
WHERE v.day >= $1 AND v.day <= $2
GROUP BY {key}
