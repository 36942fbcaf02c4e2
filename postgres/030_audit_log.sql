-- 030_audit_log: who read which student's data, when, through which route (analytics API, issue 7).
--
-- One row per API request that reads a student's data or a cohort aggregate, including refused ones (status 403),
-- so a student's "who looked at my data" and a security review both come from here. The API buffers records and
-- writes them in batches (one multi-row INSERT every API_AUDIT_FLUSH_MS or API_AUDIT_BATCH_ROWS rows, and on
-- shutdown), so auditing adds no round trip to a request. `at` is the request time, not the insert time.
-- subject_user_id is the student whose data was read (NULL for cohort aggregates, which name cohort_id instead).
-- params holds the validated query parameters only (never a token or a raw, unvalidated value).
-- Append-only: nothing in the engine updates or deletes rows here except retention (`studystream retention`).
CREATE TABLE audit_log (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL,
  request_id      text NOT NULL,
  actor_id        text NOT NULL,
  actor_role      text NOT NULL CHECK (actor_role IN ('student', 'educator', 'admin')),
  method          text NOT NULL,
  route           text NOT NULL,
  subject_user_id text,
  cohort_id       text,
  status          smallint NOT NULL,
  params          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_subject_at_idx ON audit_log (subject_user_id, at) WHERE subject_user_id IS NOT NULL;
CREATE INDEX audit_log_actor_at_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_at_brin ON audit_log USING brin (at);
