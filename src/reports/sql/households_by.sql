-- Household and order counters per group over $1..$2; *_active sums every day up to $2 (totals).
-- {key} and {join} are filled in from a fixed list in repo.rs, never from input.
SELECT {key} AS key,
       CAST(COALESCE(SUM(CASE WHEN s.day >= $1 THEN s.households_joined ELSE 0 END), 0) AS BIGINT) AS c1,
       CAST(COALESCE(SUM(s.households_active), 0) AS BIGINT) AS c2,
       CAST(0 AS BIGINT) AS c3,
       CAST(0 AS BIGINT) AS c4,
       CAST(COALESCE(SUM(CASE WHEN s.day >= $1 THEN s.orders ELSE 0 END), 0) AS BIGINT) AS c5,
       CAST(COALESCE(SUM(CASE WHEN s.day >= $1 THEN s.value_vnd ELSE 0 END), 0) AS BIGINT) AS c6,
       CAST(COALESCE(SUM(CASE WHEN s.day >= $1 THEN s.weight_grams ELSE 0 END), 0) AS BIGINT) AS c7,
       CAST(COALESCE(SUM(CASE WHEN s.day >= $1 THEN s.export_weight_grams ELSE 0 END), 0) AS BIGINT) AS c8,
       CAST(0 AS BIGINT) AS c9
FROM stats_household_days s
JOIN households h ON h.id = s.household_id
{join}
WHERE s.day <= $2
GROUP BY {key}
