-- Requests for access from addresses outside the configured organisations' domains; the
-- coordinator grants (creating or updating the user) or refuses them, with a reason.

CREATE TABLE access_requests (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL,
    name        TEXT NOT NULL,
    org_text    TEXT NOT NULL,
    message     TEXT,
    created_at  TEXT NOT NULL,
    decided_at  TEXT,
    decided_by  TEXT,
    outcome     TEXT CHECK (outcome IN ('granted', 'refused')),
    reason      TEXT
);

-- One open request per address.
CREATE UNIQUE INDEX access_requests_open ON access_requests (email) WHERE decided_at IS NULL;
CREATE INDEX access_requests_created ON access_requests (created_at);
