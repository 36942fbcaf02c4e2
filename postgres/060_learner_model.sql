-- 060_learner_model: learner model v2 (issue 15, services/domain/learner-model.ts).
--
-- topic_mastery gains the calibrated probability that the student answers a question of average difficulty on the
-- topic correctly, as of as_of, with its 95% interval (from the ability posterior). Leaves: the learner model;
-- parents: board-weighted roll-up of their leaves, like mastery_score. NULL on rows written before this migration
-- until the row's next event (or `studystream rebuild --store mastery`). learner_state (leaves only) is the model's
-- state {mu, v, n, s, lastAt, materialAt} so readers can recompute the probability at request time (forgetting).
ALTER TABLE topic_mastery
  ADD COLUMN p_correct       double precision,
  ADD COLUMN p_correct_lower double precision,
  ADD COLUMN p_correct_upper double precision,
  ADD COLUMN learner_state   jsonb;

-- item_calibration: the question bank's calibrated item difficulties (logits), fitted from the cohort's answers by
-- the calibration step (calibrateItems in services/eval/evaluate.ts; refreshed by a job). prior_logit is the prior
-- the fit started from (the logit of the event's published difficulty, or the bank mean when the bank publishes
-- none); answers is the number of answers behind the estimate. The mastery processor loads the table at start and
-- resolves each answer's difficulty when it decodes it (calibration, else the event's difficulty field, else the
-- bank mean).
CREATE TABLE item_calibration (
  question_id    text             PRIMARY KEY,
  difficulty     double precision NOT NULL,
  prior_logit    double precision,
  answers        integer          NOT NULL DEFAULT 0,
  calibrated_at  timestamptz      NOT NULL DEFAULT now()
);
