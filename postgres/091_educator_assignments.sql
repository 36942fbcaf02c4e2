-- 091_educator_assignments: which educator teaches which cohort, on the server (issue 18, finding 12).
--
-- An educator's token lists cohorts (claim `cohorts`), but a token is only as trustworthy as whoever minted it, and
-- it outlives a change of class. The API now reads a cohort only when it is both in the token and assigned here
-- (`studystream educators assign|unassign|list`); removing the assignment takes effect within the API's cache bound
-- (API_SERVER_CHECKS_CACHE_MS) without waiting for the token to expire.
CREATE TABLE IF NOT EXISTS educator_cohorts (
  educator_id text NOT NULL CHECK (educator_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  cohort_id   text NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
  assigned_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (educator_id, cohort_id)
);
