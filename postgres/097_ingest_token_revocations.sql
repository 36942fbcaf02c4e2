-- 097_ingest_token_revocations: per-student ingest tokens can be revoked before they expire (issue 18).
--
-- An ingest token (X-Ingest-Token, services/ingest/ingest-token.ts) lives at most INGEST_TOKEN_MAX_TTL_SEC (15 min).
-- A stolen phone or a student who signed out should not keep writing for that long, so token_revocations (092) now
-- holds ingest revocations too, told apart by `kind`: 'api' (the analytics API's JWTs, as before) or 'ingest'. A row
-- with a jti revokes that one token (the `j` claim of tokens minted since this migration); a row without one revokes
-- every ingest token of the student issued at or before revoked_at. `studystream token revoke --ingest` writes them.
-- Each ingest process reloads the unexpired ingest rows every INGEST_TOKEN_REVOCATION_CACHE_MS (one small query per
-- process, not per request), which bounds how long a revoked token still works. expires_at is revoked_at plus the
-- longest token lifetime (plus a minute), after which no token the row covers is valid: rows can be pruned then.
ALTER TABLE token_revocations ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'api'
  CHECK (kind IN ('api', 'ingest'));
CREATE INDEX IF NOT EXISTS token_revocations_kind_expires_idx ON token_revocations (kind, expires_at);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'studystream_ingest') THEN
    GRANT SELECT ON token_revocations TO studystream_ingest;
  END IF;
END $$;
