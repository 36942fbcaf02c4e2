-- 075_student_study_reads: per-student read models behind the knowledge-gaps and exam-readiness endpoints, so
-- a request reads PostgreSQL only (before: ClickHouse daily_user_sums, daily_user_topic_sums and raw
-- material_interactions per request; see README "Knowledge gaps and exam readiness", latency).
--
-- Written by the mastery processor in the same transaction as the topic_mastery rows, from the events it applies
-- (the fresh ones after its event_id claims, so each event counts exactly once): answers (question-attempts) and
-- material progress (material-interactions with a progress value) on at least one leaf topic. Events the
-- processor does not apply (no leaf topic, no progress, dead-lettered) are in neither table.
-- `studystream rebuild --store mastery` rebuilds them with the rows; `studystream backfill-study-reads` fills them
-- from the raw history in ClickHouse with the same rules (for data loaded before this migration or straight into
-- the stores); `studystream reconcile` compares them with that history.

-- Per student and UTC day (day of occurred_at): answers, correct answers, first attempts (attempt_number 1) and
-- the correct ones, answer time (time_to_answer_ms; 0 when absent) and material active time (active_ms of the
-- progress events; 0 when absent). Study totals (all time, last 30 days) and the pace (last 90 days) are sums over
-- a student's rows.
CREATE TABLE student_study_days (
  user_id               text    NOT NULL,
  day                   date    NOT NULL,
  events                integer NOT NULL DEFAULT 0,
  questions             integer NOT NULL DEFAULT 0,
  correct               integer NOT NULL DEFAULT 0,
  first_attempts        integer NOT NULL DEFAULT 0,
  first_attempt_correct integer NOT NULL DEFAULT 0,
  answer_ms             bigint  NOT NULL DEFAULT 0,
  material_active_ms    bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day)
);

-- Per student and material: the highest progress reached (0..1) and the material's leaf topics (of the event that
-- set the row first; a material's topics do not change).
CREATE TABLE student_materials (
  user_id     text             NOT NULL,
  material_id text             NOT NULL,
  topic_ids   text[]           NOT NULL,
  progress    double precision NOT NULL,
  PRIMARY KEY (user_id, material_id)
);
