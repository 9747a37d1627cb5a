-- Daily rollups for the uptake reports, kept in the same transaction as every write that changes
-- a metric, and recomputable from the raw tables with `nongsan rebuild-rollups`.
-- Days are calendar days of the reporting time zone. "*_active" columns count a household or
-- product on the day it joined or was listed, while it is not suspended or archived; their running
-- sum up to a day is the number on the platform that day.

-- The whole platform per day: the uptake report reads only this (bounded by days, not by data).
-- Every order writes today's row, so it is spread over shards: concurrent writers do not queue
-- on one row lock, and readers sum the shards.
CREATE TABLE stats_days (
    day                 DATE NOT NULL,
    shard               INTEGER NOT NULL,
    households_joined   BIGINT NOT NULL DEFAULT 0,
    households_active   BIGINT NOT NULL DEFAULT 0,
    products_listed     BIGINT NOT NULL DEFAULT 0,
    products_active     BIGINT NOT NULL DEFAULT 0,
    orders              BIGINT NOT NULL DEFAULT 0,
    value_vnd           BIGINT NOT NULL DEFAULT 0,
    weight_grams        BIGINT NOT NULL DEFAULT 0,
    export_weight_grams BIGINT NOT NULL DEFAULT 0,
    views               BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, shard)
);

-- Per household and day: province and household breakdowns join households for province and name.
CREATE TABLE stats_household_days (
    household_id        TEXT NOT NULL REFERENCES households (id),
    day                 DATE NOT NULL,
    households_joined   BIGINT NOT NULL DEFAULT 0,
    households_active   BIGINT NOT NULL DEFAULT 0,
    orders              BIGINT NOT NULL DEFAULT 0,
    value_vnd           BIGINT NOT NULL DEFAULT 0,
    weight_grams        BIGINT NOT NULL DEFAULT 0,
    export_weight_grams BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (household_id, day)
);
CREATE INDEX stats_household_days_day ON stats_household_days (day);

-- Per product and day, counting the product's own order lines (views are in product_view_days).
CREATE TABLE stats_product_days (
    product_id          TEXT NOT NULL REFERENCES products (id),
    day                 DATE NOT NULL,
    products_listed     BIGINT NOT NULL DEFAULT 0,
    products_active     BIGINT NOT NULL DEFAULT 0,
    orders              BIGINT NOT NULL DEFAULT 0,
    value_vnd           BIGINT NOT NULL DEFAULT 0,
    weight_grams        BIGINT NOT NULL DEFAULT 0,
    export_weight_grams BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, day)
);
CREATE INDEX stats_product_days_day ON stats_product_days (day);

-- Export weight per product, day and destination country.
CREATE TABLE stats_product_export_days (
    product_id   TEXT NOT NULL REFERENCES products (id),
    day          DATE NOT NULL,
    country_code TEXT NOT NULL,
    weight_grams BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, day, country_code)
);
CREATE INDEX stats_product_export_days_day ON stats_product_export_days (day);

-- Orders per household, product category (as snapshotted on the order line) and day: an order
-- counts once in each category it has lines in.
CREATE TABLE stats_category_days (
    household_id        TEXT NOT NULL REFERENCES households (id),
    category            TEXT NOT NULL,
    day                 DATE NOT NULL,
    orders              BIGINT NOT NULL DEFAULT 0,
    value_vnd           BIGINT NOT NULL DEFAULT 0,
    weight_grams        BIGINT NOT NULL DEFAULT 0,
    export_weight_grams BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (household_id, category, day)
);
CREATE INDEX stats_category_days_day ON stats_category_days (day);
