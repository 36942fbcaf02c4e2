-- Nightly snapshots written by the jobs service (services/jobs, job `snapshot-gaps-readiness`), the seed's
-- `knowledge_gaps` and `user_learning_metrics` tables: one row set per student and UTC day, so progress can be
-- followed over time. The job recomputes each student with the API's own code (GET /api/analytics/knowledge-gaps
-- and /exam-readiness) and replaces the day's rows in one transaction per student (a retried run converges).

-- knowledge_gaps: the student's highest-priority gaps of the day (rank 1 = first), seed formula and severity.
CREATE TABLE knowledge_gaps (
  user_id           text             NOT NULL,
  snapshot_day      date             NOT NULL,
  topic_id          text             NOT NULL REFERENCES topics (id),
  rank              integer          NOT NULL,
  mastery_score     double precision NOT NULL,
  gap_score         double precision NOT NULL,
  board_weight      double precision NOT NULL,
  prerequisite_impact double precision NOT NULL,
  recent_failure_rate double precision NOT NULL,
  priority_score    double precision NOT NULL,
  severity          text             NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
  hours_to_close    double precision NOT NULL,
  prerequisite_for  integer          NOT NULL,
  created_at        timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, snapshot_day, topic_id)
);
CREATE INDEX knowledge_gaps_day_idx ON knowledge_gaps (snapshot_day, severity);

-- user_learning_metrics: one row per student and day: exam readiness (model and version), the gap counts and
-- the features the prediction used (jsonb, names as in services/domain/readiness.ts).
CREATE TABLE user_learning_metrics (
  user_id            text             NOT NULL,
  snapshot_day       date             NOT NULL,
  model_name         text             NOT NULL,
  model_version      text             NOT NULL,
  readiness          integer          NOT NULL,
  predicted_score    double precision NOT NULL,
  score_lower        double precision NOT NULL,
  score_upper        double precision NOT NULL,
  pass_probability   double precision NOT NULL,
  pass_lower         double precision NOT NULL,
  pass_upper         double precision NOT NULL,
  topic_coverage     double precision NOT NULL,
  days_until_ready   integer,
  gaps_critical      integer          NOT NULL,
  gaps_high          integer          NOT NULL,
  gaps_medium        integer          NOT NULL,
  gaps_low           integer          NOT NULL,
  hours_to_close     double precision NOT NULL,
  features           jsonb            NOT NULL,
  created_at         timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, snapshot_day)
);

-- item_statistics: per question of the bank, from the answers (job `calibrate-items`): share correct on first
-- attempts and a Rasch-style difficulty logit corrected for guessing (five options), for content review. The
-- learner model's own item difficulties are item_calibration (060), fitted by the same job.
CREATE TABLE item_statistics (
  question_id        text             PRIMARY KEY,
  topic_id           text,
  answers            bigint           NOT NULL,
  first_attempts     bigint           NOT NULL,
  p_correct_first    double precision,
  difficulty_logit   double precision,
  mean_answer_ms     double precision,
  calibrated_at      timestamptz      NOT NULL DEFAULT now()
);
