-- Users, API tokens, bookings and their audit log (SQLite).

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    org         TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('requester', 'staff', 'coordinator', 'admin')),
    created_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);

-- Times are UTC, written by the application as RFC 3339 text, so text order is time order.
-- blocked_until = ends_at + the room's buffer: the interval [starts_at, blocked_until) is what
-- a booking keeps from others.
CREATE TABLE bookings (
    id              INTEGER PRIMARY KEY,
    room            TEXT NOT NULL,
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    blocked_until   TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    public          BOOLEAN NOT NULL DEFAULT 1,
    attendees       INTEGER NOT NULL CHECK (attendees > 0),
    org             TEXT NOT NULL,
    contact_user_id INTEGER REFERENCES users (id),
    contact_name    TEXT NOT NULL,
    contact_email   TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled', 'displaced')),
    status_reason   TEXT,
    sequence        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (starts_at < ends_at AND ends_at <= blocked_until)
);

CREATE INDEX bookings_room_start ON bookings (room, starts_at);
CREATE INDEX bookings_org_start ON bookings (org, starts_at);
CREATE INDEX bookings_status_start ON bookings (status, starts_at);

-- The backstop against double booking: writers already run in BEGIN IMMEDIATE transactions
-- that check and insert atomically; these triggers refuse an overlapping confirmed booking
-- whatever the application does.
CREATE TRIGGER bookings_no_overlap_insert
BEFORE INSERT ON bookings
WHEN NEW.status = 'confirmed'
BEGIN
    SELECT RAISE(ABORT, 'booking_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.room = NEW.room AND b.status = 'confirmed'
          AND b.starts_at < NEW.blocked_until AND NEW.starts_at < b.blocked_until
          -- No booking spans more than two days with its buffer: a lower bound in the stored
          -- text format keeps the index range short.
          AND b.starts_at > strftime('%Y-%m-%dT%H:%M:%S', NEW.starts_at, '-2 days') || '+00:00'
    );
END;

CREATE TRIGGER bookings_no_overlap_update
BEFORE UPDATE OF status, room, starts_at, ends_at, blocked_until ON bookings
WHEN NEW.status = 'confirmed'
BEGIN
    SELECT RAISE(ABORT, 'booking_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.id <> NEW.id AND b.room = NEW.room AND b.status = 'confirmed'
          AND b.starts_at < NEW.blocked_until AND NEW.starts_at < b.blocked_until
          -- No booking spans more than two days with its buffer: a lower bound in the stored
          -- text format keeps the index range short.
          AND b.starts_at > strftime('%Y-%m-%dT%H:%M:%S', NEW.starts_at, '-2 days') || '+00:00'
    );
END;

CREATE TABLE booking_events (
    id          INTEGER PRIMARY KEY,
    booking_id  INTEGER NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    reason      TEXT
);

CREATE INDEX booking_events_booking ON booking_events (booking_id, id);
