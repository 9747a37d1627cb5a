-- Orders: a header with the shipping and payment snapshot, and one line per product.
CREATE TABLE orders (
    id                 TEXT PRIMARY KEY,
    -- imported history may have no buyer account
    buyer_id           TEXT REFERENCES users (id),
    household_id       TEXT NOT NULL REFERENCES households (id),
    status             TEXT NOT NULL CHECK (status IN ('placed', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    total_vnd          BIGINT NOT NULL CHECK (total_vnd >= 0),
    total_weight_grams BIGINT NOT NULL CHECK (total_weight_grams >= 0),
    recipient_name     TEXT NOT NULL,
    phone              TEXT NOT NULL,
    address            TEXT NOT NULL,
    province_code      TEXT REFERENCES provinces (code),
    -- ISO 3166-1 alpha-2; anything but VN is an export order
    country_code       TEXT NOT NULL,
    payment_method     TEXT NOT NULL CHECK (payment_method IN ('cod', 'bank_transfer')),
    payment_status     TEXT NOT NULL CHECK (payment_status IN ('unpaid', 'paid', 'refunded')),
    tracking_code      TEXT,
    note               TEXT,
    placed_at          TIMESTAMP NOT NULL,
    confirmed_at       TIMESTAMP,
    shipped_at         TIMESTAMP,
    delivered_at       TIMESTAMP,
    cancelled_at       TIMESTAMP,
    cancel_reason      TEXT
);
CREATE INDEX orders_placed_at ON orders (placed_at);
CREATE INDEX orders_household_placed ON orders (household_id, placed_at);
CREATE INDEX orders_buyer_placed ON orders (buyer_id, placed_at);
CREATE INDEX orders_status ON orders (status);

CREATE TABLE order_items (
    order_id          TEXT NOT NULL REFERENCES orders (id),
    line_no           INTEGER NOT NULL,
    product_id        TEXT NOT NULL REFERENCES products (id),
    -- a snapshot taken when the order was placed
    product_name      TEXT NOT NULL,
    product_category  TEXT NOT NULL,
    quantity          BIGINT NOT NULL CHECK (quantity >= 1),
    unit_price_vnd    BIGINT NOT NULL,
    unit_weight_grams BIGINT NOT NULL,
    line_total_vnd    BIGINT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_items_product_id ON order_items (product_id);

-- Idempotency-Key per buyer: the request's hash and the order it created. Kept 24 hours.
CREATE TABLE idempotency_keys (
    buyer_id     TEXT NOT NULL REFERENCES users (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (buyer_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
