-- The "*_active" columns of stats_days are deltas whose running sum is the number on the platform,
-- so a total as of a day summed every day before it. Kept per month as well, a total is the
-- months before the day's month plus that month's days: bounded by months, not days. Only
-- households and products joining or changing status write here, never orders.
CREATE TABLE stats_active_months (
    month             DATE PRIMARY KEY, -- the first day of the month
    households_active BIGINT NOT NULL DEFAULT 0,
    products_active   BIGINT NOT NULL DEFAULT 0
);

INSERT INTO stats_active_months (month, households_active, products_active)
SELECT CAST(date_trunc('month', day) AS DATE), SUM(households_active), SUM(products_active)
FROM stats_days
GROUP BY 1
HAVING SUM(households_active) <> 0 OR SUM(products_active) <> 0;
