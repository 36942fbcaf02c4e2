-- topic_mastery: one row per student and curriculum topic, maintained by the mastery processor
-- (services/stream/mastery) from question-attempts and material-interactions; read by the analytics API.
--
-- Leaf (level 2) rows are computed from the student's own events; level 0/1 rows are roll-ups of their children
-- weighted by topics.board_weight (a child never studied counts as score 0), recomputed in the same transaction
-- as the leaves they depend on. topic_level tells the two apart without a join.
--
-- Time: every derived figure is computed AS OF `as_of` (the row's latest event time), never the wall clock, so a
-- replay rebuilds the identical row. retrieval_strength decays with time: for "now", recompute it from the
-- scheduler state (sm2_state/fsrs_state with services/domain) or read next_review_at.
--
-- Columns (leaf rows; parent rows: sums for counts, board-weighted means for scores, NULL scheduler columns,
-- next_review_at = earliest child review):
--   attempts, correct                         all answers (a skipped/timed-out answer counts as incorrect)
--   first_attempt_total, first_attempt_correct answers with attempt_number = 1
--   accuracy, first_attempt_accuracy          correct/attempts, NULL without attempts
--   recent_accuracy                           accuracy over the last 10 answers (by event time)
--   retrieval_strength                        recall probability as of as_of from the configured scheduler
--   stability_days                            FSRS memory stability (days)
--   sm2_state, fsrs_state                     both schedulers' full state (JSON, times in epoch ms)
--   scheduler                                 the scheduler that drives next_review_at and retrieval_strength
--   next_review_at                            when the configured scheduler wants the topic reviewed
--   material_completion                       mean over the topic's materials the student opened of the max
--                                             progress reached (0..1), from material-interactions
--   mastery_score                             seed formula 0.30 first-attempt acc + 0.20 acc + 0.30 retrieval
--                                             + 0.20 material completion, in [0, 1]
--   mastery_lower, mastery_upper              95% interval on the score (Wilson on both accuracies)
--   trend                                     improving | stable | declining | insufficient_data (NULL on parents)
--   last_event_at, as_of                      latest applied event time; the instant the figures refer to
--   processor_state                           internal (the processor's fold/pending buffers); not for readers
--   updated_at                                wall-clock time of the last write (freshness; not deterministic)
CREATE TABLE topic_mastery (
  user_id                text             NOT NULL,
  topic_id               text             NOT NULL REFERENCES topics (id),
  topic_level            smallint         NOT NULL,
  attempts               integer          NOT NULL DEFAULT 0,
  correct                integer          NOT NULL DEFAULT 0,
  first_attempt_total    integer          NOT NULL DEFAULT 0,
  first_attempt_correct  integer          NOT NULL DEFAULT 0,
  accuracy               double precision,
  first_attempt_accuracy double precision,
  recent_accuracy        double precision,
  retrieval_strength     double precision NOT NULL DEFAULT 0,
  stability_days         double precision,
  sm2_state              jsonb,
  fsrs_state             jsonb,
  scheduler              text             NOT NULL DEFAULT 'fsrs' CHECK (scheduler IN ('sm2', 'fsrs')),
  next_review_at         timestamptz,
  material_completion    double precision NOT NULL DEFAULT 0,
  mastery_score          double precision NOT NULL DEFAULT 0,
  mastery_lower          double precision NOT NULL DEFAULT 0,
  mastery_upper          double precision NOT NULL DEFAULT 1,
  trend                  text,
  last_event_at          timestamptz,
  as_of                  timestamptz,
  processor_state        jsonb,
  updated_at             timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, topic_id)
);
-- "What should I review next": a student's due topics in order.
CREATE INDEX topic_mastery_next_review_idx ON topic_mastery (user_id, next_review_at) WHERE topic_level = 2;
-- Cohort views per topic (educators): scores of every student on a topic.
CREATE INDEX topic_mastery_topic_idx ON topic_mastery (topic_id, mastery_score);

-- topic_mastery_history: the API's mastery-over-time series. One row per student, leaf topic and UTC day with
-- activity: the figures as of the END of that day. A day's row is written once the day is closed for the row,
-- i.e. when the student's events on that topic have moved past the end of the day by the allowed lateness, so
-- the snapshot contains exactly the events of that day and earlier (in event-time order) whatever the arrival
-- order. The current, still-open day is topic_mastery itself. Parent topics: roll up from leaves by weight.
CREATE TABLE topic_mastery_history (
  user_id             text             NOT NULL,
  topic_id            text             NOT NULL REFERENCES topics (id),
  day                 date             NOT NULL,
  attempts            integer          NOT NULL,
  correct             integer          NOT NULL,
  accuracy            double precision,
  retrieval_strength  double precision NOT NULL,
  material_completion double precision NOT NULL,
  mastery_score       double precision NOT NULL,
  mastery_lower       double precision NOT NULL,
  mastery_upper       double precision NOT NULL,
  PRIMARY KEY (user_id, topic_id, day)
);
