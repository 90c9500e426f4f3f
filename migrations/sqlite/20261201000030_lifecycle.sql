-- The lifecycle of accounts, sessions and API tokens (SQLite).

-- A disabled account signs in no more; its sessions, API tokens and calendar feeds are refused.
ALTER TABLE users ADD COLUMN disabled_at TEXT;

-- Sessions slide: one idle for longer than the configured idle timeout has ended. The browser
-- (User-Agent, cut to 200 characters) is kept to tell the user's own sessions apart.
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- API tokens get an id (to list and revoke them by), an expiry, their last use (written at
-- most once a minute) and a revocation. Tokens made before this get a year from their making.
CREATE TABLE api_tokens_new (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

INSERT INTO api_tokens_new (token_hash, user_id, created_at, expires_at)
SELECT token_hash, user_id, created_at,
       strftime('%Y-%m-%dT%H:%M:%S', created_at, '+365 days') || '+00:00'
FROM api_tokens ORDER BY created_at;

DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Secrets the service makes once and every instance shares (the anti-forgery key, unless
-- server.secret is configured).
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
