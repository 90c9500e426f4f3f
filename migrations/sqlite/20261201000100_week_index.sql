-- The week view and every booking decision select one room's bookings of a few statuses in a
-- short time range. With only (room, starts_at) and (status, starts_at) to choose from, the
-- planner (SQLite without statistics, in particular) may take the status index and read every
-- room's rows in that range; this index answers them from one room's rows of those statuses.
CREATE INDEX bookings_room_status_start ON bookings (room, status, starts_at);
