DROP TABLE stats_active_months;
