-- Reminders before a confirmed booking starts: when it was reminded (claimed once, also
-- across instances), and the single-use cancel links sent with it, stored as SHA-256 hashes.

ALTER TABLE bookings ADD COLUMN reminded_at TEXT;

CREATE TABLE reminder_links (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    booking_id  INTEGER NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE INDEX reminder_links_booking ON reminder_links (booking_id);
