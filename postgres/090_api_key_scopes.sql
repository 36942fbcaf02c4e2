-- 090_api_key_scopes: what an ingest API key may write (issue 18, finding 2).
--
-- * server: the app's backend; may write events for any student and mint per-student ingest tokens
--   (POST /v1/tokens). Never shipped to a browser or a mobile app. Existing keys keep this scope.
-- * client: shipped inside a browser or mobile app, so public. Every request must also carry a short-lived ingest
--   token (X-Ingest-Token) minted by the app's backend for the signed-in student, and ingest refuses any event whose
--   user_id is not that student's (403 user_id_mismatch). A client key alone writes nothing.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT 'server'
  CHECK (scope IN ('server', 'client'));
