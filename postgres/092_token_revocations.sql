-- 092_token_revocations: analytics API tokens revoked before they expire (issue 18, finding 12).
--
-- A row with a jti revokes that one token; a row without one revokes every token of the subject issued at or before
-- revoked_at (a stolen device, a student who left). `studystream token revoke` writes them. The API checks each
-- token against this table, cached per subject for at most API_SERVER_CHECKS_CACHE_MS, so a revoked token stops
-- working within that bound on every API process. Rows can be pruned once expires_at (revoked_at plus the longest
-- token lifetime, JWT_MAX_TTL_SEC) has passed: no token they cover is still valid then.
CREATE TABLE IF NOT EXISTS token_revocations (
  id         bigserial PRIMARY KEY,
  subject    text NOT NULL CHECK (subject ~ '^[A-Za-z0-9_-]{1,64}$'),
  jti        text CHECK (jti IS NULL OR length(jti) BETWEEN 1 AND 200),
  revoked_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  reason     text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS token_revocations_subject_idx ON token_revocations (subject);
