-- 088_topic_reviews: the reviews of each student's leaf topics with the schedule after each, behind the cohort
-- metric review adherence (services/domain/review-adherence.ts, services/analytics/README.md "Review adherence").
--
-- A topic's review of a UTC day is that day's first answer on the topic in event time (occurred_at, then event
-- id). Each row holds it, the FSRS-6 daily state after it (the schedule of next_review_at, replayed over the
-- topic's reviews in event-time order: a late answer takes its place and the rows after it are recomputed), when
-- that schedule asks for the next review (due_at, due_day) and the day of the topic's next review (next_day, NULL
-- while there is none). Whether a due was met is then a comparison of two columns: early (next_day < due_day - 1,
-- not a due), on time (within a day of due_day), late, or missing (next_day NULL). A window's adherence is a count
-- over the rows whose due_day lies in it (index below).
--
-- The rows are a pure function of the set of applied answers: the first answer of a day is a minimum, so a
-- duplicate, a replay or any arrival order gives the same rows. Written by the mastery processor in the same
-- transaction as the topic_mastery rows (which it has locked for these topics), from the events it newly claimed.
-- `studystream rebuild --store mastery` rebuilds the table with the rows, `studystream backfill-study-reads` fills
-- it from the raw history in ClickHouse with the same rules, and `studystream reconcile` compares it with that
-- history. Stability and difficulty are stored so a late answer recomputes the chain from the review before it.
CREATE TABLE topic_reviews (
  user_id        text             NOT NULL,
  topic_id       text             NOT NULL,
  day            date             NOT NULL,
  first_at       bigint           NOT NULL,
  first_event_id text             NOT NULL,
  correct        boolean          NOT NULL,
  stability      double precision NOT NULL,
  difficulty     double precision NOT NULL,
  due_at         bigint           NOT NULL,
  due_day        date             NOT NULL,
  next_day       date,
  PRIMARY KEY (user_id, topic_id, day)
);

CREATE INDEX topic_reviews_due_idx ON topic_reviews (due_day, user_id);
