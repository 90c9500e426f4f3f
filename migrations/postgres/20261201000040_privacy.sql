-- Retention: when a booking's personal data was anonymised (title, description, contact,
-- status reason, attendance's free text, its audit actors). NULL until then; the daily
-- round looks for ended bookings still without it.

ALTER TABLE bookings ADD COLUMN anonymised_at TIMESTAMPTZ;

CREATE INDEX bookings_retention ON bookings (ends_at) WHERE anonymised_at IS NULL;
CREATE INDEX booking_events_actor ON booking_events (actor);
CREATE INDEX outbox_recipient ON outbox (recipient);
