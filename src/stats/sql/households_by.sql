-- Household and order counters per group over $1..$2; running totals sum every day up to $2.
-- {key}, {join} and {counters} are filled in from fixed lists in read.rs, never from input.
SELECT {key} AS key, {counters}
FROM stats_household_days s
JOIN households h ON h.id = s.household_id
{join}
WHERE s.day <= $2
GROUP BY {key}
