-- sinopac-server schema (SQLite). Times are Unix milliseconds (UTC); amounts are 1/100 NTD.
CREATE TABLE shops (
    shop_no       TEXT PRIMARY KEY NOT NULL,
    credentials   BLOB NOT NULL,            -- AES-256-GCM: nonce(12) || ciphertext, AAD = shop_no
    cred_version  INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE orders (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_no               TEXT NOT NULL,
    order_no              TEXT NOT NULL,
    pay_type              TEXT NOT NULL,
    amount                INTEGER NOT NULL,
    prdt_name             TEXT NOT NULL,
    state                 TEXT NOT NULL,
    bank_pay_status       TEXT,
    ts_no                 TEXT,
    pay_token             TEXT,
    atm_pay_no            TEXT,
    card_pay_url          TEXT,
    expire_date           TEXT,
    refunded_amount       INTEGER NOT NULL DEFAULT 0,
    needs_review          INTEGER NOT NULL DEFAULT 0,
    paid_at               INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    version               INTEGER NOT NULL DEFAULT 0,
    reconcile_attempts    INTEGER NOT NULL DEFAULT 0,
    next_reconcile_at     INTEGER NOT NULL,
    reconcile_lease_until INTEGER,
    last_error            TEXT,
    UNIQUE (shop_no, order_no)
);
CREATE INDEX orders_reconcile ON orders (state, next_reconcile_at);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_pay_token ON orders (shop_no, pay_token);

CREATE TABLE order_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id        INTEGER NOT NULL REFERENCES orders (id),
    from_state      TEXT NOT NULL,
    to_state        TEXT NOT NULL,
    source          TEXT NOT NULL,
    bank_pay_status TEXT,
    detail          TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id);

CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_no         TEXT NOT NULL,
    pay_token       TEXT NOT NULL,
    source          TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    outcome         TEXT,
    processed_at    INTEGER,
    UNIQUE (shop_no, pay_token)
);
CREATE INDEX inbox_due ON inbox (state, next_attempt_at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id        INTEGER NOT NULL,
    event_id        INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE outbox_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id   INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id);
