-- API keys for apps sending events to ingest. The key is "ssk_<prefix>_<secret>": the prefix is public and
-- identifies the key; only SHA-256(secret) is stored, so a database leak does not reveal usable keys.
CREATE TABLE IF NOT EXISTS api_keys (
  prefix       text PRIMARY KEY CHECK (prefix ~ '^[a-f0-9]{12}$'),
  name         text NOT NULL,
  secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
