-- Users, API tokens, bookings and their audit log (PostgreSQL).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id          BIGSERIAL PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    org         TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('requester', 'staff', 'coordinator', 'admin')),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- blocked_until = ends_at + the room's buffer: [starts_at, blocked_until) is what a booking
-- keeps from others.
CREATE TABLE bookings (
    id              BIGSERIAL PRIMARY KEY,
    room            TEXT NOT NULL,
    starts_at       TIMESTAMPTZ NOT NULL,
    ends_at         TIMESTAMPTZ NOT NULL,
    blocked_until   TIMESTAMPTZ NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    public          BOOLEAN NOT NULL DEFAULT TRUE,
    attendees       BIGINT NOT NULL CHECK (attendees > 0),
    org             TEXT NOT NULL,
    contact_user_id BIGINT REFERENCES users (id),
    contact_name    TEXT NOT NULL,
    contact_email   TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled', 'displaced')),
    status_reason   TEXT,
    sequence        BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CHECK (starts_at < ends_at AND ends_at <= blocked_until),
    -- Two confirmed bookings of one room never overlap, buffers included.
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
        room WITH =,
        tstzrange(starts_at, blocked_until, '[)') WITH &&
    ) WHERE (status = 'confirmed')
);

CREATE INDEX bookings_room_start ON bookings (room, starts_at);
CREATE INDEX bookings_org_start ON bookings (org, starts_at);
CREATE INDEX bookings_status_start ON bookings (status, starts_at);

CREATE TABLE booking_events (
    id          BIGSERIAL PRIMARY KEY,
    booking_id  BIGINT NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    reason      TEXT
);

CREATE INDEX booking_events_booking ON booking_events (booking_id, id);
