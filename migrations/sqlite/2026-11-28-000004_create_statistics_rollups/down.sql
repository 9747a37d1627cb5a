DROP TABLE stats_category_days;
DROP TABLE stats_product_export_days;
DROP TABLE stats_product_days;
DROP TABLE stats_household_days;
DROP TABLE stats_days;
