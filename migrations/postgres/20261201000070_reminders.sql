-- Reminders before a confirmed booking starts: when it was reminded (claimed once, also
-- across instances), and the single-use cancel links sent with it, stored as SHA-256 hashes.

ALTER TABLE bookings ADD COLUMN reminded_at TIMESTAMPTZ;

CREATE TABLE reminder_links (
    id          BIGSERIAL PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    booking_id  BIGINT NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);

CREATE INDEX reminder_links_booking ON reminder_links (booking_id);
