-- The mail outbox and calendar feed tokens (SQLite).

-- One row per message and recipient, written in the same transaction as the booking change
-- that caused it. The worker leases due rows (lease_until/lease_token), sends them, and marks
-- each sent once; failures are retried later with the last error kept.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    booking_id  INTEGER REFERENCES bookings (id) ON DELETE SET NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body_text   TEXT NOT NULL,
    body_html   TEXT NOT NULL,
    ics_method  TEXT CHECK (ics_method IN ('REQUEST', 'CANCEL', 'PUBLISH')),
    ics         TEXT,
    created_at  TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    lease_until TEXT,
    lease_token TEXT,
    sent_at     TEXT,
    failed_at   TEXT
);

CREATE INDEX outbox_due ON outbox (due_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_booking ON outbox (booking_id);

CREATE TABLE feed_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('room', 'organisation', 'personal')),
    room        TEXT,
    org         TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE INDEX feed_tokens_user ON feed_tokens (user_id);
CREATE INDEX bookings_contact ON bookings (contact_email, starts_at);
