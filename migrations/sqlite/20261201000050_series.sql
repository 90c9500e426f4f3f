-- Recurring bookings (SQLite). A series is the request as it was made: the pattern (a
-- normalised RRULE), the first occurrence's time, and the booking fields every occurrence
-- shares. Each occurrence has a row: booked ones point at their booking (which holds the
-- room, or held it), planned ones (beyond the requester's horizon) hold nothing until the
-- daily job books them, skipped and declined ones say why.
CREATE TABLE series (
    id              INTEGER PRIMARY KEY,
    room            TEXT NOT NULL,
    org             TEXT NOT NULL,
    rrule           TEXT NOT NULL,
    first_start     TEXT NOT NULL,
    first_end       TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    public          BOOLEAN NOT NULL DEFAULT 1,
    attendees       INTEGER NOT NULL CHECK (attendees > 0),
    contact_name    TEXT NOT NULL,
    contact_email   TEXT NOT NULL,
    activity        TEXT,
    cancelled       BOOLEAN NOT NULL DEFAULT 0,
    sequence        INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX series_org ON series (org);
CREATE INDEX series_contact ON series (contact_email);

-- recurrence_id: the occurrence's start by the pattern (UTC), its RECURRENCE-ID; starts_at
-- and ends_at its time now (a booked occurrence's booking has the same).
CREATE TABLE series_occurrences (
    series_id       INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    recurrence_id   TEXT NOT NULL,
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('booked', 'planned', 'skipped', 'declined', 'cancelled')),
    booking_id      INTEGER REFERENCES bookings (id) ON DELETE SET NULL,
    code            TEXT,
    message         TEXT,
    PRIMARY KEY (series_id, recurrence_id)
);
CREATE INDEX series_occurrences_planned ON series_occurrences (state, starts_at);
CREATE UNIQUE INDEX series_occurrences_booking ON series_occurrences (booking_id);

ALTER TABLE bookings ADD COLUMN series_id INTEGER REFERENCES series (id);
ALTER TABLE bookings ADD COLUMN recurrence_id TEXT;
CREATE INDEX bookings_series ON bookings (series_id) WHERE series_id IS NOT NULL;
