-- 085_cohort_releases: frozen cohort v2 releases (services/analytics/releases.ts, services/analytics/README.md).
--
-- One row per (scope, fixed calendar window, k): the released aggregates of a cohort ('cohort:<id>') or of every
-- active student ('all') over a complete ISO week, calendar month or quarter. Written once, by the first request
-- for it (under a per-window advisory lock) or by `studystream cohort-release`, and never updated: every later
-- answer for that window is the same answer, whatever late events or membership changes came since, so two answers
-- can never be subtracted to isolate one student.
--
-- cohort_release_members: the release's population (the students it was computed over) with each one's frozen
-- figures and percentiles (a student sees only their own row, through the API). The population is what the
-- differencing check compares a new release of the same window with. Rows name pseudonymous user ids, like
-- cohort_members; deleting a student removes their rows (services/datatools/delete-user.ts), the aggregates stay.
CREATE TABLE cohort_releases (
  id          bigserial PRIMARY KEY,
  scope       text        NOT NULL CHECK (scope = 'all' OR scope ~ '^cohort:[A-Za-z0-9_-]{1,64}$'),
  window_kind text        NOT NULL CHECK (window_kind IN ('week', 'month', 'quarter')),
  period      text        NOT NULL,
  window_from date        NOT NULL,
  window_to   date        NOT NULL,
  k           integer     NOT NULL CHECK (k >= 1),
  released_at timestamptz NOT NULL DEFAULT now(),
  body        jsonb       NOT NULL,
  UNIQUE (scope, window_kind, period, k)
);
CREATE INDEX cohort_releases_window_idx ON cohort_releases (window_kind, period);

CREATE TABLE cohort_release_members (
  release_id bigint NOT NULL REFERENCES cohort_releases (id) ON DELETE CASCADE,
  user_id    text   NOT NULL,
  standing   jsonb  NOT NULL,
  PRIMARY KEY (release_id, user_id)
);
CREATE INDEX cohort_release_members_user_idx ON cohort_release_members (user_id);

-- The API's least-privilege role (070) reads every table; it also writes releases (never updates or deletes).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'studystream_api') THEN
    GRANT SELECT, INSERT ON cohort_releases, cohort_release_members TO studystream_api;
    GRANT USAGE ON SEQUENCE cohort_releases_id_seq TO studystream_api;
  END IF;
END $$;
