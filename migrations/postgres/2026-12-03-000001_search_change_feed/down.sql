DROP TRIGGER households_search_update ON households;
DROP TRIGGER products_search_update ON products;
DROP TRIGGER products_search_insert_delete ON products;
DROP FUNCTION record_household_search_change();
DROP FUNCTION record_product_search_change();
DROP TABLE search_changes;
