-- One checkout: a buyer's cart across farms, one order per household, paid at once.
CREATE TABLE checkouts (
    id             TEXT PRIMARY KEY,
    -- what the buyer writes in the bank transfer's content; the bank's notification carries it back
    code           TEXT NOT NULL UNIQUE,
    buyer_id       TEXT NOT NULL REFERENCES users (id),
    payment_method TEXT NOT NULL CHECK (payment_method IN ('cod', 'bank_transfer')),
    payment_status TEXT NOT NULL CHECK (payment_status IN ('unpaid', 'paid', 'expired')),
    goods_vnd      BIGINT NOT NULL CHECK (goods_vnd >= 0),
    shipping_vnd   BIGINT NOT NULL CHECK (shipping_vnd >= 0),
    total_vnd      BIGINT NOT NULL CHECK (total_vnd >= 0),
    created_at     TIMESTAMP NOT NULL,
    -- unpaid bank transfers are cancelled after this
    expires_at     TIMESTAMP,
    paid_at        TIMESTAMP
);
CREATE INDEX checkouts_buyer ON checkouts (buyer_id, created_at);
CREATE INDEX checkouts_expiring ON checkouts (expires_at) WHERE payment_status = 'unpaid' AND expires_at IS NOT NULL;

-- (no REFERENCES: SQLite cannot drop a column a foreign key names, and the down migration drops it)
ALTER TABLE orders ADD COLUMN checkout_id TEXT;
-- the parcel's fee; total_vnd stays the goods' value
ALTER TABLE orders ADD COLUMN shipping_vnd BIGINT NOT NULL DEFAULT 0 CHECK (shipping_vnd >= 0);
ALTER TABLE orders ADD COLUMN shipping_zone TEXT;
CREATE INDEX orders_checkout ON orders (checkout_id);

-- Where a household's payouts go, and the parcel value above which it ships free.
ALTER TABLE households ADD COLUMN payout_bank_bin TEXT;
ALTER TABLE households ADD COLUMN payout_account TEXT;
ALTER TABLE households ADD COLUMN free_shipping_from_vnd BIGINT CHECK (free_shipping_from_vnd >= 0);

-- Every bank-statement line the bank told us of, matched to a checkout or not; the id makes replays no-ops.
CREATE TABLE bank_transactions (
    transaction_id TEXT PRIMARY KEY,
    amount_vnd     BIGINT NOT NULL,
    description    TEXT NOT NULL,
    credited_at    TIMESTAMP NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    checkout_id    TEXT REFERENCES checkouts (id),
    outcome        TEXT NOT NULL CHECK (outcome IN ('matched', 'short', 'over', 'unknown', 'late'))
);
CREATE INDEX bank_transactions_unmatched ON bank_transactions (received_at) WHERE outcome <> 'matched';

-- Double-entry books: an entry's lines sum to zero (debits positive, credits negative).
CREATE TABLE ledger_entries (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    booked_at      TIMESTAMP NOT NULL,
    checkout_id    TEXT REFERENCES checkouts (id),
    order_id       TEXT REFERENCES orders (id),
    household_id   TEXT REFERENCES households (id),
    payout_id      TEXT,
    transaction_id TEXT
);
CREATE TABLE ledger_lines (
    entry_id   TEXT NOT NULL REFERENCES ledger_entries (id),
    line_no    INTEGER NOT NULL,
    account    TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_lines_account ON ledger_lines (account, entry_id);
-- Each account's running balance, kept with every entry (`nongsan ledger check` recomputes it).
CREATE TABLE ledger_balances (
    account     TEXT PRIMARY KEY,
    balance_vnd BIGINT NOT NULL
);
-- SQLite turns an integer sum past 64 bits into a float without a word: refuse it instead, with
-- the message the service answers as 422 value_out_of_range (PostgreSQL's bigint refuses it itself).
CREATE TRIGGER ledger_balances_fit BEFORE UPDATE ON ledger_balances
WHEN typeof(NEW.balance_vnd) <> 'integer'
BEGIN
    SELECT RAISE(ABORT, 'integer overflow');
END;

-- A payout batch: every positive household balance paid at once; the key makes a retry the same batch.
CREATE TABLE payouts (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    total_vnd       BIGINT NOT NULL
);
CREATE TABLE payout_lines (
    payout_id    TEXT NOT NULL REFERENCES payouts (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    bank_bin     TEXT,
    account      TEXT,
    amount_vnd   BIGINT NOT NULL CHECK (amount_vnd > 0),
    reference    TEXT NOT NULL,
    PRIMARY KEY (payout_id, household_id)
);
