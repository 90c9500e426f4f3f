-- The lifecycle of accounts, sessions and API tokens (PostgreSQL).

-- A disabled account signs in no more; its sessions, API tokens and calendar feeds are refused.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;

-- Sessions slide: one idle for longer than the configured idle timeout has ended. The browser
-- (User-Agent, cut to 200 characters) is kept to tell the user's own sessions apart.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ, ADD COLUMN user_agent TEXT;

-- API tokens get an id (to list and revoke them by), an expiry, their last use (written at
-- most once a minute) and a revocation. Tokens made before this get a year from their making.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_pkey;
ALTER TABLE api_tokens ADD COLUMN id BIGSERIAL PRIMARY KEY;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash);
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMPTZ;
UPDATE api_tokens SET expires_at = created_at + INTERVAL '365 days';
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMPTZ, ADD COLUMN revoked_at TIMESTAMPTZ;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Secrets the service makes once and every instance shares (the anti-forgery key, unless
-- server.secret is configured).
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
