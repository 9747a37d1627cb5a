-- The order transaction alone: take stock, insert the order, insert its line (as nongsan does it).
\set n random(1, 10000)
SELECT id AS pid, household_id AS hid FROM bench_ids WHERE n = :n \gset
BEGIN;
UPDATE products SET stock_quantity = stock_quantity - 1, updated_at = now()
  WHERE id = :pid AND status = 'active' AND stock_quantity >= 1
  RETURNING name AS pname, category AS pcat, price_vnd AS price, unit_weight_grams AS grams \gset
INSERT INTO orders (id, buyer_id, household_id, status, total_vnd, total_weight_grams, recipient_name, phone, address,
  country_code, payment_method, payment_status, placed_at)
  VALUES (gen_random_uuid()::text, NULL, :hid, 'placed', :price, :grams, 'Bench', '0987654321', 'Ha Noi', 'VN', 'cod',
  'unpaid', now()) RETURNING id AS oid \gset
INSERT INTO order_items (order_id, line_no, product_id, product_name, product_category, quantity, unit_price_vnd,
  unit_weight_grams, line_total_vnd) VALUES (:oid, 1, :pid, :pname, :pcat, 1, :price, :grams, :price);
COMMIT;
