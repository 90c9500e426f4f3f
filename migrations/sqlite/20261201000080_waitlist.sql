-- The waitlist, holds, check-in and no-shows (SQLite).
--
-- Three booking statuses are new: `held` (a slot reserved for the first on the waitlist until
-- `held_until`), `lapsed` (a hold that was declined, ran out or was withdrawn) and `no_show`
-- (a booking released because nobody checked in).
--
-- SQLite cannot alter a CHECK constraint, and rebuilding the table would need foreign keys
-- off, which cannot be done inside the transaction a migration runs in (a DROP TABLE would
-- cascade to the bookings' history). The list of allowed statuses only grows, so every stored
-- row still passes: the constraint's text is widened in the schema itself, the documented way
-- for changes that do not touch the stored format (https://sqlite.org/lang_altertable.html,
-- «Making Other Kinds Of Table Schema Changes»), and the schema is reloaded.

PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''confirmed'', ''rejected'', ''cancelled'', ''displaced''))',
    'CHECK (status IN (''pending'', ''confirmed'', ''rejected'', ''cancelled'', ''displaced'', ''held'', ''lapsed'', ''no_show''))')
WHERE type = 'table' AND name = 'bookings';
PRAGMA writable_schema = RESET;
PRAGMA writable_schema = OFF;

ALTER TABLE bookings ADD COLUMN held_until TEXT;
ALTER TABLE bookings ADD COLUMN checked_in_at TEXT;

DROP TRIGGER bookings_no_overlap_insert;
DROP TRIGGER bookings_no_overlap_update;

CREATE INDEX bookings_held ON bookings (held_until) WHERE status = 'held';

-- The backstop against double booking, now for holds too: a confirmed booking and a hold both
-- keep their slot from every other confirmed booking and hold, whatever the application does.
CREATE TRIGGER bookings_no_overlap_insert
BEFORE INSERT ON bookings
WHEN NEW.status IN ('confirmed', 'held')
BEGIN
    SELECT RAISE(ABORT, 'booking_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.room = NEW.room AND b.status IN ('confirmed', 'held')
          AND b.starts_at < NEW.blocked_until AND NEW.starts_at < b.blocked_until
          -- No booking spans more than two days with its buffer: a lower bound in the stored
          -- text format keeps the index range short.
          AND b.starts_at > strftime('%Y-%m-%dT%H:%M:%S', NEW.starts_at, '-2 days') || '+00:00'
    );
END;

CREATE TRIGGER bookings_no_overlap_update
BEFORE UPDATE OF status, room, starts_at, ends_at, blocked_until ON bookings
WHEN NEW.status IN ('confirmed', 'held')
BEGIN
    SELECT RAISE(ABORT, 'booking_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.id <> NEW.id AND b.room = NEW.room AND b.status IN ('confirmed', 'held')
          AND b.starts_at < NEW.blocked_until AND NEW.starts_at < b.blocked_until
          AND b.starts_at > strftime('%Y-%m-%dT%H:%M:%S', NEW.starts_at, '-2 days') || '+00:00'
    );
END;

-- Who waits for which time. The request is kept whole (the booking fields as the form sent
-- them), so a hold is the same booking the requester asked for. `booking_id` is the hold (and,
-- once confirmed, the booking) the entry got.
CREATE TABLE waitlist (
    id              INTEGER PRIMARY KEY,
    room            TEXT NOT NULL,
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    org             TEXT NOT NULL,
    contact_user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    contact_name    TEXT NOT NULL,
    contact_email   TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    public          BOOLEAN NOT NULL,
    attendees       INTEGER NOT NULL CHECK (attendees > 0),
    activity        TEXT,
    joined_at       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('waiting', 'held', 'booked', 'declined', 'lapsed', 'left', 'expired', 'withdrawn')),
    booking_id      INTEGER REFERENCES bookings (id) ON DELETE SET NULL,
    held_at         TEXT,
    updated_at      TEXT NOT NULL,
    CHECK (starts_at < ends_at)
);

CREATE INDEX waitlist_waiting ON waitlist (room, starts_at) WHERE status = 'waiting';
CREATE INDEX waitlist_contact ON waitlist (contact_email, starts_at);
CREATE INDEX waitlist_joined ON waitlist (joined_at);
CREATE UNIQUE INDEX waitlist_booking ON waitlist (booking_id) WHERE booking_id IS NOT NULL;

-- The single-use «Bekreft» and «Avslå» links of a hold, by hash.
CREATE TABLE hold_links (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    entry_id    INTEGER NOT NULL REFERENCES waitlist (id) ON DELETE CASCADE,
    action      TEXT NOT NULL CHECK (action IN ('confirm', 'decline')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE INDEX hold_links_entry ON hold_links (entry_id);
