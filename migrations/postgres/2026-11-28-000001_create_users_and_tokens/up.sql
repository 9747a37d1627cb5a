-- Accounts. Ids are UUIDv7 strings; timestamps are UTC without zone.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    -- lower-cased email: the unique key, so that emails are unique case-insensitively
    email_key     TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('farmer', 'buyer', 'admin')),
    phone         TEXT,
    created_at    TIMESTAMP NOT NULL
);

-- Bearer tokens, stored only as the SHA-256 of the token; logout deletes the row.
CREATE TABLE auth_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_tokens_user_id ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expires_at ON auth_tokens (expires_at);
