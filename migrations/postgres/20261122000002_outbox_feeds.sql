-- The mail outbox and calendar feed tokens (PostgreSQL).

-- One row per message and recipient, written in the same transaction as the booking change
-- that caused it. The worker leases due rows (lease_until/lease_token), sends them, and marks
-- each sent once; failures are retried later with the last error kept.
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    booking_id  BIGINT REFERENCES bookings (id) ON DELETE SET NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body_text   TEXT NOT NULL,
    body_html   TEXT NOT NULL,
    ics_method  TEXT CHECK (ics_method IN ('REQUEST', 'CANCEL', 'PUBLISH')),
    ics         TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    lease_until TIMESTAMPTZ,
    lease_token TEXT,
    sent_at     TIMESTAMPTZ,
    failed_at   TIMESTAMPTZ
);

CREATE INDEX outbox_due ON outbox (due_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_booking ON outbox (booking_id);

CREATE TABLE feed_tokens (
    id          BIGSERIAL PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('room', 'organisation', 'personal')),
    room        TEXT,
    org         TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE INDEX feed_tokens_user ON feed_tokens (user_id);
CREATE INDEX bookings_contact ON bookings (contact_email, starts_at);
