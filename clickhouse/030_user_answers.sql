-- 030_user_answers: one student's answers as the insights read them, in small granules.
--
-- Why: GET /api/analytics/insights reads every answer of one student over up to a year (occurred_at, ms, zone known
-- and offset, correctness, session, topics). From question_attempts (index_granularity 8192, monthly partitions) a
-- student's ~2,000 answers of 90 days cost ~65,000 rows read and 17-21 ms of server time on the 1,000-student bench
-- dataset: every monthly part contributes at least one whole 8,192-row granule at each end of the student's range.
-- This table holds only the columns the insights read, with the same key, in 1,024-row granules, so a student's
-- range reads about an eighth of the rows (services/analytics-api/README.md has the measurements).
--
--   user_answers (user_id, occurred_at, event_id): event_id, occurred_ms, tz_known (the event carried a time zone),
--   utc_offset_min, is_correct, session_id, topic_ids: question_attempts' values, unchanged
--
-- Engine and exactness as 001's raw tables: ReplacingMergeTree keyed by (user_id, occurred_at, event_id), one row
-- per event after merges; before merges a duplicate (a slipped-in re-delivery, or the backfill below meeting a row
-- the view also wrote) is removed by event id in the reader (services/domain/insights.ts insightAttempts), as for
-- the raw table. Fed by a materialized view from every insert into question_attempts; partitioned by month like
-- every table (retention drops the same partition ids; `delete-user` deletes the user's rows: both list the table in
-- services/stream/clickhouse-sink/maintenance.ts).
--
-- Backfill: the view is created BEFORE the backfill reads question_attempts, so a row the clickhouse-sink inserts
-- meanwhile is either read by the backfill, or written by the view, or both (a duplicate by event id, which
-- ReplacingMergeTree and the reader remove): unlike 004, this migration is safe with the sink running. The table is
-- dropped and created again first (idempotent: a run that failed half-way is simply run again); OPTIMIZE ... FINAL
-- then leaves one part per month (the reads open one range per part). On a fresh database the backfill reads nothing.
-- Portable: ClickHouse 18.16 and current releases (the view emits every column of its target, an 18.16 requirement,
-- see 001; no feature 18.16 lacks). Run on the stack's 18.16.1 by test/integration/clickhouse/user-answers.test.ts,
-- whose statements the current-ClickHouse replay (test/current-clickhouse, chDB) runs again.

DROP TABLE IF EXISTS mv_question_attempts_user_answers;
DROP TABLE IF EXISTS user_answers;

CREATE TABLE user_answers
(
    user_id        String,
    occurred_at    DateTime('UTC'),
    event_id       UUID,
    occurred_ms    UInt16,
    tz_known       UInt8,
    utc_offset_min Int16,
    is_correct     UInt8,
    session_id     String,
    topic_ids      Array(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (user_id, occurred_at, event_id)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW mv_question_attempts_user_answers TO user_answers AS
SELECT
    user_id,
    occurred_at,
    event_id,
    occurred_ms,
    toUInt8(time_zone != '') AS tz_known,
    utc_offset_min,
    is_correct,
    session_id,
    topic_ids
FROM question_attempts;

-- mv_question_attempts_user_answers, over every stored row
INSERT INTO user_answers
SELECT
    user_id,
    occurred_at,
    event_id,
    occurred_ms,
    toUInt8(time_zone != '') AS tz_known,
    utc_offset_min,
    is_correct,
    session_id,
    topic_ids
FROM question_attempts;

OPTIMIZE TABLE user_answers FINAL;
