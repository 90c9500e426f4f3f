-- The fairness ledger reads the displacements and rejections of the last 12 months from the
-- audit lines: an index on the status changed to and when, so it reads only those.

CREATE INDEX booking_events_loss ON booking_events (to_status, at);
