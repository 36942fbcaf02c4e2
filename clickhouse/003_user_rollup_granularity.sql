-- 003_user_rollup_granularity: the per-student rollups get a small index granularity (256 rows instead of 8,192).
--
-- Why: the analytics API reads one student at a time (PREWHERE user_id = ...). ClickHouse reads whole granules,
-- and with the default 8,192 rows a granule of daily_user_stats holds about 90 students' days: every per-student
-- query deserialized ~8,000 rows of aggregate states (uniqExact sets of sessions and materials included) per
-- monthly part to keep ~30. With 256 rows a student's range spans one or two granules per part, so a read touches
-- 32x fewer rows (measured in services/analytics-api/README.md). The cost is a larger primary index: one mark per
-- 256 rows (~16 bytes per column and mark), a few MB of marks at a hundred million rollup rows. The raw tables keep
-- 8,192 (per-student history is thousands of rows there, scans are range reads already) and daily_topic_stats,
-- read across students by cohort queries, keeps it too.
--
-- How: index_granularity is fixed when a table is created (no ALTER in 18.16 or in current releases), so each
-- table is rebuilt: its materialized views are dropped, a copy with the new setting is filled from it, the two
-- are swapped with RENAME, the old one dropped, the views created again (identical to 002). The views are
-- recreated rather than left in place because 18.16 binds a view's TO target by name while current releases
-- (Atomic databases) follow the table's UUID through a rename. Every step is idempotent, so a run that failed
-- half-way can simply be re-run (the table under the live name always holds every row).
--
-- Apply with the clickhouse-sink stopped (npm start and deployments migrate before starting services): events
-- inserted into the raw tables while the views are dropped would be missing from the rollups. On a fresh
-- database the copies are empty and the migration takes milliseconds.

DROP TABLE IF EXISTS mv_study_events_daily_user;
DROP TABLE IF EXISTS mv_question_attempts_daily_user;
DROP TABLE IF EXISTS mv_material_interactions_daily_user;
DROP TABLE IF EXISTS mv_question_attempts_daily_user_topic;
DROP TABLE IF EXISTS mv_material_interactions_daily_user_topic;
DROP TABLE IF EXISTS mv_study_events_hourly_user;
DROP TABLE IF EXISTS mv_question_attempts_hourly_user;
DROP TABLE IF EXISTS mv_material_interactions_hourly_user;

-- daily_user_stats

DROP TABLE IF EXISTS daily_user_stats__g256;

CREATE TABLE daily_user_stats__g256
(
    user_id               String,
    day                   Date,
    events                AggregateFunction(sum, UInt64),
    study_ms              AggregateFunction(sum, Int64),
    active_ms             AggregateFunction(sum, Int64),
    sessions              AggregateFunction(uniqExact, String),
    questions             AggregateFunction(sum, UInt64),
    correct               AggregateFunction(sum, UInt64),
    first_attempts        AggregateFunction(sum, UInt64),
    first_attempt_correct AggregateFunction(sum, UInt64),
    materials             AggregateFunction(uniqExact, String),
    notes                 AggregateFunction(sum, UInt64),
    highlights            AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (user_id, day)
SETTINGS index_granularity = 256;

INSERT INTO daily_user_stats__g256 SELECT * FROM daily_user_stats;

DROP TABLE IF EXISTS daily_user_stats__old;

RENAME TABLE daily_user_stats TO daily_user_stats__old, daily_user_stats__g256 TO daily_user_stats;

DROP TABLE daily_user_stats__old;

-- daily_user_topic_stats

DROP TABLE IF EXISTS daily_user_topic_stats__g256;

CREATE TABLE daily_user_topic_stats__g256
(
    user_id               String,
    topic_id              String,
    day                   Date,
    questions             AggregateFunction(sum, UInt64),
    correct               AggregateFunction(sum, UInt64),
    first_attempts        AggregateFunction(sum, UInt64),
    first_attempt_correct AggregateFunction(sum, UInt64),
    answer_ms             AggregateFunction(sum, Int64),
    interactions          AggregateFunction(sum, UInt64),
    material_active_ms    AggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (user_id, topic_id, day)
SETTINGS index_granularity = 256;

INSERT INTO daily_user_topic_stats__g256 SELECT * FROM daily_user_topic_stats;

DROP TABLE IF EXISTS daily_user_topic_stats__old;

RENAME TABLE daily_user_topic_stats TO daily_user_topic_stats__old,
    daily_user_topic_stats__g256 TO daily_user_topic_stats;

DROP TABLE daily_user_topic_stats__old;

-- hourly_user_activity

DROP TABLE IF EXISTS hourly_user_activity__g256;

CREATE TABLE hourly_user_activity__g256
(
    user_id   String,
    hour      DateTime('UTC'),
    events    AggregateFunction(sum, UInt64),
    questions AggregateFunction(sum, UInt64),
    active_ms AggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (user_id, hour)
SETTINGS index_granularity = 256;

INSERT INTO hourly_user_activity__g256 SELECT * FROM hourly_user_activity;

DROP TABLE IF EXISTS hourly_user_activity__old;

RENAME TABLE hourly_user_activity TO hourly_user_activity__old, hourly_user_activity__g256 TO hourly_user_activity;

DROP TABLE hourly_user_activity__old;

-- The materialized views again, exactly as in 002 (definitions and neutral states explained there).

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_study_events_daily_user TO daily_user_stats AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sumState(toUInt64(1)) AS events,
    sumState(toInt64(if(event_type = 'SESSION_END', ifNull(duration_ms, 0), 0))) AS study_ms,
    sumState(toInt64(0)) AS active_ms,
    uniqExactStateIf(session_id, session_id != '') AS sessions,
    sumState(toUInt64(0)) AS questions,
    sumState(toUInt64(0)) AS correct,
    sumState(toUInt64(0)) AS first_attempts,
    sumState(toUInt64(0)) AS first_attempt_correct,
    uniqExactStateIf(material_id, material_id != '') AS materials,
    sumState(toUInt64(0)) AS notes,
    sumState(toUInt64(0)) AS highlights
FROM study_events
GROUP BY user_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_question_attempts_daily_user TO daily_user_stats AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sumState(toUInt64(1)) AS events,
    sumState(toInt64(0)) AS study_ms,
    sumState(toInt64(time_to_answer_ms)) AS active_ms,
    uniqExactStateIf(session_id, session_id != '') AS sessions,
    sumState(toUInt64(1)) AS questions,
    sumState(toUInt64(is_correct)) AS correct,
    sumState(toUInt64(attempt_number = 1)) AS first_attempts,
    sumState(toUInt64(attempt_number = 1 AND is_correct = 1)) AS first_attempt_correct,
    uniqExactStateIf('', 0) AS materials,
    sumState(toUInt64(0)) AS notes,
    sumState(toUInt64(0)) AS highlights
FROM question_attempts
GROUP BY user_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_material_interactions_daily_user TO daily_user_stats AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sumState(toUInt64(1)) AS events,
    sumState(toInt64(0)) AS study_ms,
    sumState(toInt64(ifNull(active_ms, 0))) AS active_ms,
    uniqExactStateIf(session_id, session_id != '') AS sessions,
    sumState(toUInt64(0)) AS questions,
    sumState(toUInt64(0)) AS correct,
    sumState(toUInt64(0)) AS first_attempts,
    sumState(toUInt64(0)) AS first_attempt_correct,
    uniqExactState(material_id) AS materials,
    sumState(toUInt64(interaction_type = 'NOTE')) AS notes,
    sumState(toUInt64(interaction_type = 'HIGHLIGHT')) AS highlights
FROM material_interactions
GROUP BY user_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_question_attempts_daily_user_topic TO daily_user_topic_stats AS
SELECT
    user_id,
    arrayJoin(topic_ids) AS topic_id,
    toDate(occurred_at) AS day,
    sumState(toUInt64(1)) AS questions,
    sumState(toUInt64(is_correct)) AS correct,
    sumState(toUInt64(attempt_number = 1)) AS first_attempts,
    sumState(toUInt64(attempt_number = 1 AND is_correct = 1)) AS first_attempt_correct,
    sumState(toInt64(time_to_answer_ms)) AS answer_ms,
    sumState(toUInt64(0)) AS interactions,
    sumState(toInt64(0)) AS material_active_ms
FROM question_attempts
GROUP BY user_id, topic_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_material_interactions_daily_user_topic TO daily_user_topic_stats AS
SELECT
    user_id,
    arrayJoin(topic_ids) AS topic_id,
    toDate(occurred_at) AS day,
    sumState(toUInt64(0)) AS questions,
    sumState(toUInt64(0)) AS correct,
    sumState(toUInt64(0)) AS first_attempts,
    sumState(toUInt64(0)) AS first_attempt_correct,
    sumState(toInt64(0)) AS answer_ms,
    sumState(toUInt64(1)) AS interactions,
    sumState(toInt64(ifNull(active_ms, 0))) AS material_active_ms
FROM material_interactions
GROUP BY user_id, topic_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_study_events_hourly_user TO hourly_user_activity AS
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sumState(toUInt64(1)) AS events,
    sumState(toUInt64(0)) AS questions,
    sumState(toInt64(0)) AS active_ms
FROM study_events
GROUP BY user_id, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_question_attempts_hourly_user TO hourly_user_activity AS
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sumState(toUInt64(1)) AS events,
    sumState(toUInt64(1)) AS questions,
    sumState(toInt64(time_to_answer_ms)) AS active_ms
FROM question_attempts
GROUP BY user_id, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_material_interactions_hourly_user TO hourly_user_activity AS
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sumState(toUInt64(1)) AS events,
    sumState(toUInt64(0)) AS questions,
    sumState(toInt64(ifNull(active_ms, 0))) AS active_ms
FROM material_interactions
GROUP BY user_id, hour;
