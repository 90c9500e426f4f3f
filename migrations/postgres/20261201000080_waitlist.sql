-- The waitlist, holds, check-in and no-shows (PostgreSQL).
--
-- Three booking statuses are new: `held` (a slot reserved for the first on the waitlist until
-- `held_until`), `lapsed` (a hold that was declined, ran out or was withdrawn) and `no_show`
-- (a booking released because nobody checked in). A hold keeps its slot as a confirmed
-- booking does: the exclusion constraint now covers both.

ALTER TABLE bookings DROP CONSTRAINT bookings_status_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_status_check
    CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled', 'displaced', 'held', 'lapsed', 'no_show'));
ALTER TABLE bookings ADD COLUMN held_until TIMESTAMPTZ;
ALTER TABLE bookings ADD COLUMN checked_in_at TIMESTAMPTZ;

ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap;
ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
    room WITH =,
    tstzrange(starts_at, blocked_until, '[)') WITH &&
) WHERE (status IN ('confirmed', 'held'));

CREATE INDEX bookings_held ON bookings (held_until) WHERE status = 'held';

-- Who waits for which time. The request is kept whole (the booking fields as the form sent
-- them), so a hold is the same booking the requester asked for. `booking_id` is the hold (and,
-- once confirmed, the booking) the entry got.
CREATE TABLE waitlist (
    id              BIGSERIAL PRIMARY KEY,
    room            TEXT NOT NULL,
    starts_at       TIMESTAMPTZ NOT NULL,
    ends_at         TIMESTAMPTZ NOT NULL,
    org             TEXT NOT NULL,
    contact_user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    contact_name    TEXT NOT NULL,
    contact_email   TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    public          BOOLEAN NOT NULL,
    attendees       BIGINT NOT NULL CHECK (attendees > 0),
    activity        TEXT,
    joined_at       TIMESTAMPTZ NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('waiting', 'held', 'booked', 'declined', 'lapsed', 'left', 'expired', 'withdrawn')),
    booking_id      BIGINT REFERENCES bookings (id) ON DELETE SET NULL,
    held_at         TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    CHECK (starts_at < ends_at)
);

CREATE INDEX waitlist_waiting ON waitlist (room, starts_at) WHERE status = 'waiting';
CREATE INDEX waitlist_contact ON waitlist (contact_email, starts_at);
CREATE INDEX waitlist_joined ON waitlist (joined_at);
CREATE UNIQUE INDEX waitlist_booking ON waitlist (booking_id) WHERE booking_id IS NOT NULL;

-- The single-use «Bekreft» and «Avslå» links of a hold, by hash.
CREATE TABLE hold_links (
    id          BIGSERIAL PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    entry_id    BIGINT NOT NULL REFERENCES waitlist (id) ON DELETE CASCADE,
    action      TEXT NOT NULL CHECK (action IN ('confirm', 'decline')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);

CREATE INDEX hold_links_entry ON hold_links (entry_id);
