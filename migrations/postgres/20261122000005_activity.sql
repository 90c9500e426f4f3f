-- What each booking is used for (kind, themes, goal areas, plan measures, expected participants
-- per group) and, after the event, who came and what came of it: JSON text, read and checked
-- against config/plan.toml by the application.

ALTER TABLE bookings ADD COLUMN activity TEXT;
ALTER TABLE bookings ADD COLUMN attendance TEXT;
-- When the contact was asked to register attendance (once per event).
ALTER TABLE bookings ADD COLUMN attendance_asked_at TIMESTAMPTZ;
