-- 031_cohorts: educator cohorts (a class, a year group, a course section) and their students.
--
-- The analytics API uses these for two things: an educator's token lists the cohort ids they teach (claim
-- `cohorts`) and they may read only aggregates over the members of those cohorts; a student's percentiles are
-- computed within a cohort they belong to. Cohort figures are reported only for groups of at least k students
-- (API_K_ANONYMITY, default 10). Members are pseudonymous user ids, like everywhere else in the engine.
CREATE TABLE cohorts (
  id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cohort_members (
  cohort_id text NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
  user_id   text NOT NULL CHECK (user_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (cohort_id, user_id)
);
CREATE INDEX cohort_members_user_idx ON cohort_members (user_id);
