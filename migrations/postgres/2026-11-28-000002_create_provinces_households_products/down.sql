DROP TABLE product_view_days;
DROP TABLE products;
DROP TABLE households;
DROP TABLE provinces;
