-- The 63 provinces and centrally-run cities of Vietnam as they stood until mid-2025, with their
-- official two-digit codes (the statistics this platform reports start in 2020).
CREATE TABLE provinces (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
INSERT INTO provinces (code, name) VALUES
    ('01', 'Hà Nội'),
    ('02', 'Hà Giang'),
    ('04', 'Cao Bằng'),
    ('06', 'Bắc Kạn'),
    ('08', 'Tuyên Quang'),
    ('10', 'Lào Cai'),
    ('11', 'Điện Biên'),
    ('12', 'Lai Châu'),
    ('14', 'Sơn La'),
    ('15', 'Yên Bái'),
    ('17', 'Hòa Bình'),
    ('19', 'Thái Nguyên'),
    ('20', 'Lạng Sơn'),
    ('22', 'Quảng Ninh'),
    ('24', 'Bắc Giang'),
    ('25', 'Phú Thọ'),
    ('26', 'Vĩnh Phúc'),
    ('27', 'Bắc Ninh'),
    ('30', 'Hải Dương'),
    ('31', 'Hải Phòng'),
    ('33', 'Hưng Yên'),
    ('34', 'Thái Bình'),
    ('35', 'Hà Nam'),
    ('36', 'Nam Định'),
    ('37', 'Ninh Bình'),
    ('38', 'Thanh Hóa'),
    ('40', 'Nghệ An'),
    ('42', 'Hà Tĩnh'),
    ('44', 'Quảng Bình'),
    ('45', 'Quảng Trị'),
    ('46', 'Thừa Thiên Huế'),
    ('48', 'Đà Nẵng'),
    ('49', 'Quảng Nam'),
    ('51', 'Quảng Ngãi'),
    ('52', 'Bình Định'),
    ('54', 'Phú Yên'),
    ('56', 'Khánh Hòa'),
    ('58', 'Ninh Thuận'),
    ('60', 'Bình Thuận'),
    ('62', 'Kon Tum'),
    ('64', 'Gia Lai'),
    ('66', 'Đắk Lắk'),
    ('67', 'Đắk Nông'),
    ('68', 'Lâm Đồng'),
    ('70', 'Bình Phước'),
    ('72', 'Tây Ninh'),
    ('74', 'Bình Dương'),
    ('75', 'Đồng Nai'),
    ('77', 'Bà Rịa - Vũng Tàu'),
    ('79', 'Hồ Chí Minh'),
    ('80', 'Long An'),
    ('82', 'Tiền Giang'),
    ('83', 'Bến Tre'),
    ('84', 'Trà Vinh'),
    ('86', 'Vĩnh Long'),
    ('87', 'Đồng Tháp'),
    ('89', 'An Giang'),
    ('91', 'Kiên Giang'),
    ('92', 'Cần Thơ'),
    ('93', 'Hậu Giang'),
    ('94', 'Sóc Trăng'),
    ('95', 'Bạc Liêu'),
    ('96', 'Cà Mau');

-- Farm households. joined_at is when the household came onto the platform (imports set it in the past).
CREATE TABLE households (
    id            TEXT PRIMARY KEY,
    owner_id      TEXT REFERENCES users (id),
    name          TEXT NOT NULL,
    province_code TEXT NOT NULL REFERENCES provinces (code),
    district      TEXT,
    address       TEXT,
    phone         TEXT,
    description   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    -- name and description folded for search (lower case, no diacritics, đ -> d)
    search_text   TEXT NOT NULL,
    joined_at     TIMESTAMP NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX households_owner_id ON households (owner_id);
CREATE INDEX households_province_code ON households (province_code);
CREATE INDEX households_joined_at ON households (joined_at);

CREATE TABLE products (
    id                   TEXT PRIMARY KEY,
    household_id         TEXT NOT NULL REFERENCES households (id),
    name                 TEXT NOT NULL,
    description          TEXT,
    category             TEXT NOT NULL CHECK (category IN ('fruit', 'vegetable', 'rice_grain', 'tea_coffee', 'seafood', 'livestock', 'processed', 'other')),
    unit                 TEXT NOT NULL,
    unit_weight_grams    BIGINT NOT NULL CHECK (unit_weight_grams >= 1),
    price_vnd            BIGINT NOT NULL CHECK (price_vnd >= 1 AND price_vnd <= 1000000000000000),
    -- never negative: stock is taken with one conditional UPDATE, so this can only fire on a bug
    stock_quantity       BIGINT NOT NULL CHECK (stock_quantity >= 0),
    origin_province_code TEXT NOT NULL REFERENCES provinces (code),
    -- a set, stored as ',VietGAP,OCOP,' (canonical order) so that one LIKE finds a member
    certifications       TEXT NOT NULL,
    ocop_stars           INTEGER CHECK (ocop_stars BETWEEN 3 AND 5),
    harvest_from         DATE,
    harvest_to           DATE,
    status               TEXT NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
    views                BIGINT NOT NULL DEFAULT 0,
    search_text          TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX products_household_id ON products (household_id);
CREATE INDEX products_listing ON products (status, created_at);
CREATE INDEX products_category ON products (category);
CREATE INDEX products_origin ON products (origin_province_code);
CREATE INDEX products_price ON products (price_vnd);
CREATE INDEX products_views ON products (views);

-- Product page views per calendar day of the platform's time zone (flushed in batches).
CREATE TABLE product_view_days (
    product_id TEXT NOT NULL REFERENCES products (id),
    day        DATE NOT NULL,
    views      BIGINT NOT NULL,
    PRIMARY KEY (product_id, day)
);
CREATE INDEX product_view_days_day ON product_view_days (day);

-- Substring search on folded text: trigram indexes make LIKE '%word%' fast at 100k+ rows.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX products_search_trgm ON products USING gin (search_text gin_trgm_ops);
CREATE INDEX households_search_trgm ON households USING gin (search_text gin_trgm_ops);
