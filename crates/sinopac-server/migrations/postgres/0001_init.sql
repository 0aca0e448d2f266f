-- sinopac-server schema (PostgreSQL). Times are Unix milliseconds (UTC); amounts are 1/100 NTD.
CREATE TABLE shops (
    shop_no       TEXT PRIMARY KEY NOT NULL,
    credentials   BYTEA NOT NULL,            -- AES-256-GCM: nonce(12) || ciphertext, AAD = shop_no
    cred_version  BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE orders (
    id                    BIGSERIAL PRIMARY KEY,
    shop_no               TEXT NOT NULL,
    order_no              TEXT NOT NULL,
    pay_type              TEXT NOT NULL,
    amount                BIGINT NOT NULL,
    prdt_name             TEXT NOT NULL,
    state                 TEXT NOT NULL,
    bank_pay_status       TEXT,
    ts_no                 TEXT,
    pay_token             TEXT,
    atm_pay_no            TEXT,
    card_pay_url          TEXT,
    expire_date           TEXT,
    refunded_amount       BIGINT NOT NULL DEFAULT 0,
    needs_review          BIGINT NOT NULL DEFAULT 0,
    paid_at               BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    version               BIGINT NOT NULL DEFAULT 0,
    reconcile_attempts    BIGINT NOT NULL DEFAULT 0,
    next_reconcile_at     BIGINT NOT NULL,
    reconcile_lease_until BIGINT,
    last_error            TEXT,
    UNIQUE (shop_no, order_no)
);
CREATE INDEX orders_reconcile ON orders (state, next_reconcile_at);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_pay_token ON orders (shop_no, pay_token);

CREATE TABLE order_events (
    id              BIGSERIAL PRIMARY KEY,
    order_id        BIGINT NOT NULL REFERENCES orders (id),
    from_state      TEXT NOT NULL,
    to_state        TEXT NOT NULL,
    source          TEXT NOT NULL,
    bank_pay_status TEXT,
    detail          TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id);

CREATE TABLE inbox (
    id              BIGSERIAL PRIMARY KEY,
    shop_no         TEXT NOT NULL,
    pay_token       TEXT NOT NULL,
    source          TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    outcome         TEXT,
    processed_at    BIGINT,
    UNIQUE (shop_no, pay_token)
);
CREATE INDEX inbox_due ON inbox (state, next_attempt_at);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    order_id        BIGINT NOT NULL,
    event_id        BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE outbox_attempts (
    id          BIGSERIAL PRIMARY KEY,
    outbox_id   BIGINT NOT NULL,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    http_status BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id);
