-- 004_plain_user_rollups: per-student rollups as plain numbers, for the analytics API's per-student reads.
--
-- Why: ClickHouse 18.16 pays per AggregateFunction column and per -Merge aggregate, not per row: the dashboard's
-- study summary read ~1,000 rows of daily_user_stats with 25 -Merge aggregates in 11 ms of server time, where a
-- single sumMerge over the same rows takes 1-2 ms (services/analytics-api/README.md). These tables hold the same
-- figures as the 002 rollups as plain UInt64/Int64 columns, so reads are plain sum() ... GROUP BY.
--
--   daily_user_sums       (user_id, day): every sum of daily_user_stats
--   daily_user_topic_sums (user_id, topic_id, day): every sum of daily_user_topic_stats
--   hourly_user_sums      (user_id, hour): every sum of hourly_user_activity
--   daily_user_distinct   (user_id, day, kind, value): the distinct session ids (kind 'session') and material ids
--                         (kind 'material') of each student and day, the values behind daily_user_stats'
--                         uniqExact states; read with uniqExact(value) over any range of days
--
-- Engines: SummingMergeTree sums the rows of one key when parts merge, and ReplacingMergeTree keeps one row per
-- (user_id, day, kind, value). Merges are eventual, so several rows per key may exist at any time: reads ALWAYS
-- aggregate (sum() ... GROUP BY, uniqExact()), which gives the same result before and after merges. Exactness
-- under duplicates and replays is the same as in 002: the sink never inserts a raw row twice (its pre-insert check,
-- see 001), and the distinct values are immune to duplicates anyway. Every summed row has events >= 1 (daily,
-- hourly) or questions + interactions >= 1 (topics), so SummingMergeTree never drops a row as all zeros.
-- Partitioned by month like every table (retention drops the same partition ids), index granularity 256 like the
-- per-student rollups of 003 (a student's range is one or two granules per part).
--
-- The 002 rollups stay as they are (the cohort queries in services/analytics/cohort.ts read them); the views
-- below feed both from every insert into the raw tables, with the definitions of 002 (see there: study_ms =
-- SESSION_END durations, active_ms = material active time + answer time, first attempts = attempt_number 1).
--
-- Backfill: the tables are filled from the raw history already stored, with the views' own SELECTs. Apply with the
-- clickhouse-sink stopped, like 003 (npm start and deployments migrate before starting services): rows inserted
-- between a view's creation and the backfill would be counted twice, rows inserted before it and after the
-- backfill's read would be missing. Every step is idempotent: the tables are dropped and created again first, so
-- a run that failed half-way is simply run again. On a fresh database the backfill reads nothing.
-- Portable: ClickHouse 18.16 and current releases (no feature 18.16 lacks; each view emits every column of its
-- target, an 18.16 requirement, see 001).

DROP TABLE IF EXISTS mv_study_events_daily_user_sums;
DROP TABLE IF EXISTS mv_question_attempts_daily_user_sums;
DROP TABLE IF EXISTS mv_material_interactions_daily_user_sums;
DROP TABLE IF EXISTS mv_question_attempts_daily_user_topic_sums;
DROP TABLE IF EXISTS mv_material_interactions_daily_user_topic_sums;
DROP TABLE IF EXISTS mv_study_events_hourly_user_sums;
DROP TABLE IF EXISTS mv_question_attempts_hourly_user_sums;
DROP TABLE IF EXISTS mv_material_interactions_hourly_user_sums;
DROP TABLE IF EXISTS mv_study_events_daily_user_distinct;
DROP TABLE IF EXISTS mv_question_attempts_daily_user_distinct;
DROP TABLE IF EXISTS mv_material_interactions_daily_user_distinct;

DROP TABLE IF EXISTS daily_user_sums;
DROP TABLE IF EXISTS daily_user_topic_sums;
DROP TABLE IF EXISTS hourly_user_sums;
DROP TABLE IF EXISTS daily_user_distinct;

CREATE TABLE daily_user_sums
(
    user_id               String,
    day                   Date,
    events                UInt64,
    study_ms              Int64,
    active_ms             Int64,
    questions             UInt64,
    correct               UInt64,
    first_attempts        UInt64,
    first_attempt_correct UInt64,
    notes                 UInt64,
    highlights            UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (user_id, day)
SETTINGS index_granularity = 256;

CREATE TABLE daily_user_topic_sums
(
    user_id               String,
    topic_id              String,
    day                   Date,
    questions             UInt64,
    correct               UInt64,
    first_attempts        UInt64,
    first_attempt_correct UInt64,
    answer_ms             Int64,
    interactions          UInt64,
    material_active_ms    Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (user_id, topic_id, day)
SETTINGS index_granularity = 256;

CREATE TABLE hourly_user_sums
(
    user_id   String,
    hour      DateTime('UTC'),
    events    UInt64,
    questions UInt64,
    active_ms Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (user_id, hour)
SETTINGS index_granularity = 256;

CREATE TABLE daily_user_distinct
(
    user_id String,
    day     Date,
    kind    String,
    value   String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (user_id, day, kind, value)
SETTINGS index_granularity = 256;

-- The views. Source columns are qualified with the table's name where an output column has the same name.

CREATE MATERIALIZED VIEW mv_study_events_daily_user_sums TO daily_user_sums AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS events,
    sum(toInt64(if(event_type = 'SESSION_END', ifNull(duration_ms, 0), 0))) AS study_ms,
    sum(toInt64(0)) AS active_ms,
    sum(toUInt64(0)) AS questions,
    sum(toUInt64(0)) AS correct,
    sum(toUInt64(0)) AS first_attempts,
    sum(toUInt64(0)) AS first_attempt_correct,
    sum(toUInt64(0)) AS notes,
    sum(toUInt64(0)) AS highlights
FROM study_events
GROUP BY user_id, day;

CREATE MATERIALIZED VIEW mv_question_attempts_daily_user_sums TO daily_user_sums AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS events,
    sum(toInt64(0)) AS study_ms,
    sum(toInt64(time_to_answer_ms)) AS active_ms,
    sum(toUInt64(1)) AS questions,
    sum(toUInt64(is_correct)) AS correct,
    sum(toUInt64(attempt_number = 1)) AS first_attempts,
    sum(toUInt64(attempt_number = 1 AND is_correct = 1)) AS first_attempt_correct,
    sum(toUInt64(0)) AS notes,
    sum(toUInt64(0)) AS highlights
FROM question_attempts
GROUP BY user_id, day;

CREATE MATERIALIZED VIEW mv_material_interactions_daily_user_sums TO daily_user_sums AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS events,
    sum(toInt64(0)) AS study_ms,
    sum(toInt64(ifNull(material_interactions.active_ms, 0))) AS active_ms,
    sum(toUInt64(0)) AS questions,
    sum(toUInt64(0)) AS correct,
    sum(toUInt64(0)) AS first_attempts,
    sum(toUInt64(0)) AS first_attempt_correct,
    sum(toUInt64(interaction_type = 'NOTE')) AS notes,
    sum(toUInt64(interaction_type = 'HIGHLIGHT')) AS highlights
FROM material_interactions
GROUP BY user_id, day;

CREATE MATERIALIZED VIEW mv_question_attempts_daily_user_topic_sums TO daily_user_topic_sums AS
SELECT
    user_id,
    arrayJoin(topic_ids) AS topic_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS questions,
    sum(toUInt64(is_correct)) AS correct,
    sum(toUInt64(attempt_number = 1)) AS first_attempts,
    sum(toUInt64(attempt_number = 1 AND is_correct = 1)) AS first_attempt_correct,
    sum(toInt64(time_to_answer_ms)) AS answer_ms,
    sum(toUInt64(0)) AS interactions,
    sum(toInt64(0)) AS material_active_ms
FROM question_attempts
GROUP BY user_id, topic_id, day;

CREATE MATERIALIZED VIEW mv_material_interactions_daily_user_topic_sums TO daily_user_topic_sums AS
SELECT
    user_id,
    arrayJoin(topic_ids) AS topic_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(0)) AS questions,
    sum(toUInt64(0)) AS correct,
    sum(toUInt64(0)) AS first_attempts,
    sum(toUInt64(0)) AS first_attempt_correct,
    sum(toInt64(0)) AS answer_ms,
    sum(toUInt64(1)) AS interactions,
    sum(toInt64(ifNull(active_ms, 0))) AS material_active_ms
FROM material_interactions
GROUP BY user_id, topic_id, day;

CREATE MATERIALIZED VIEW mv_study_events_hourly_user_sums TO hourly_user_sums AS
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(0)) AS active_ms
FROM study_events
GROUP BY user_id, hour;

CREATE MATERIALIZED VIEW mv_question_attempts_hourly_user_sums TO hourly_user_sums AS
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(1)) AS questions,
    sum(toInt64(time_to_answer_ms)) AS active_ms
FROM question_attempts
GROUP BY user_id, hour;

CREATE MATERIALIZED VIEW mv_material_interactions_hourly_user_sums TO hourly_user_sums AS
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(ifNull(material_interactions.active_ms, 0))) AS active_ms
FROM material_interactions
GROUP BY user_id, hour;

-- Distinct values: a study event names a session and may name a material; an answer names a session; a material
-- interaction names a session and always its material (as 002's uniqExactState(material_id), even if empty).

CREATE MATERIALIZED VIEW mv_study_events_daily_user_distinct TO daily_user_distinct AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    kv.1 AS kind,
    kv.2 AS value
FROM study_events
ARRAY JOIN [('session', session_id), ('material', material_id)] AS kv
WHERE kv.2 != ''
GROUP BY user_id, day, kind, value;

CREATE MATERIALIZED VIEW mv_question_attempts_daily_user_distinct TO daily_user_distinct AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    'session' AS kind,
    session_id AS value
FROM question_attempts
WHERE session_id != ''
GROUP BY user_id, day, kind, value;

CREATE MATERIALIZED VIEW mv_material_interactions_daily_user_distinct TO daily_user_distinct AS
SELECT
    user_id,
    toDate(occurred_at) AS day,
    kv.1 AS kind,
    kv.2 AS value
FROM material_interactions
ARRAY JOIN [('session', session_id), ('material', material_id)] AS kv
WHERE kv.2 != '' OR kv.1 = 'material'
GROUP BY user_id, day, kind, value;

-- Backfill from the raw history: each statement is the SELECT of the view named above it, over every stored row.

-- mv_study_events_daily_user_sums
INSERT INTO daily_user_sums
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS events,
    sum(toInt64(if(event_type = 'SESSION_END', ifNull(duration_ms, 0), 0))) AS study_ms,
    sum(toInt64(0)) AS active_ms,
    sum(toUInt64(0)) AS questions,
    sum(toUInt64(0)) AS correct,
    sum(toUInt64(0)) AS first_attempts,
    sum(toUInt64(0)) AS first_attempt_correct,
    sum(toUInt64(0)) AS notes,
    sum(toUInt64(0)) AS highlights
FROM study_events
GROUP BY user_id, day;

-- mv_question_attempts_daily_user_sums
INSERT INTO daily_user_sums
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS events,
    sum(toInt64(0)) AS study_ms,
    sum(toInt64(time_to_answer_ms)) AS active_ms,
    sum(toUInt64(1)) AS questions,
    sum(toUInt64(is_correct)) AS correct,
    sum(toUInt64(attempt_number = 1)) AS first_attempts,
    sum(toUInt64(attempt_number = 1 AND is_correct = 1)) AS first_attempt_correct,
    sum(toUInt64(0)) AS notes,
    sum(toUInt64(0)) AS highlights
FROM question_attempts
GROUP BY user_id, day;

-- mv_material_interactions_daily_user_sums
INSERT INTO daily_user_sums
SELECT
    user_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS events,
    sum(toInt64(0)) AS study_ms,
    sum(toInt64(ifNull(material_interactions.active_ms, 0))) AS active_ms,
    sum(toUInt64(0)) AS questions,
    sum(toUInt64(0)) AS correct,
    sum(toUInt64(0)) AS first_attempts,
    sum(toUInt64(0)) AS first_attempt_correct,
    sum(toUInt64(interaction_type = 'NOTE')) AS notes,
    sum(toUInt64(interaction_type = 'HIGHLIGHT')) AS highlights
FROM material_interactions
GROUP BY user_id, day;

-- mv_question_attempts_daily_user_topic_sums
INSERT INTO daily_user_topic_sums
SELECT
    user_id,
    arrayJoin(topic_ids) AS topic_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(1)) AS questions,
    sum(toUInt64(is_correct)) AS correct,
    sum(toUInt64(attempt_number = 1)) AS first_attempts,
    sum(toUInt64(attempt_number = 1 AND is_correct = 1)) AS first_attempt_correct,
    sum(toInt64(time_to_answer_ms)) AS answer_ms,
    sum(toUInt64(0)) AS interactions,
    sum(toInt64(0)) AS material_active_ms
FROM question_attempts
GROUP BY user_id, topic_id, day;

-- mv_material_interactions_daily_user_topic_sums
INSERT INTO daily_user_topic_sums
SELECT
    user_id,
    arrayJoin(topic_ids) AS topic_id,
    toDate(occurred_at) AS day,
    sum(toUInt64(0)) AS questions,
    sum(toUInt64(0)) AS correct,
    sum(toUInt64(0)) AS first_attempts,
    sum(toUInt64(0)) AS first_attempt_correct,
    sum(toInt64(0)) AS answer_ms,
    sum(toUInt64(1)) AS interactions,
    sum(toInt64(ifNull(active_ms, 0))) AS material_active_ms
FROM material_interactions
GROUP BY user_id, topic_id, day;

-- mv_study_events_hourly_user_sums
INSERT INTO hourly_user_sums
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(0)) AS active_ms
FROM study_events
GROUP BY user_id, hour;

-- mv_question_attempts_hourly_user_sums
INSERT INTO hourly_user_sums
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(1)) AS questions,
    sum(toInt64(time_to_answer_ms)) AS active_ms
FROM question_attempts
GROUP BY user_id, hour;

-- mv_material_interactions_hourly_user_sums
INSERT INTO hourly_user_sums
SELECT
    user_id,
    toStartOfHour(occurred_at) AS hour,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(ifNull(material_interactions.active_ms, 0))) AS active_ms
FROM material_interactions
GROUP BY user_id, hour;

-- mv_study_events_daily_user_distinct
INSERT INTO daily_user_distinct
SELECT
    user_id,
    toDate(occurred_at) AS day,
    kv.1 AS kind,
    kv.2 AS value
FROM study_events
ARRAY JOIN [('session', session_id), ('material', material_id)] AS kv
WHERE kv.2 != ''
GROUP BY user_id, day, kind, value;

-- mv_question_attempts_daily_user_distinct
INSERT INTO daily_user_distinct
SELECT
    user_id,
    toDate(occurred_at) AS day,
    'session' AS kind,
    session_id AS value
FROM question_attempts
WHERE session_id != ''
GROUP BY user_id, day, kind, value;

-- mv_material_interactions_daily_user_distinct
INSERT INTO daily_user_distinct
SELECT
    user_id,
    toDate(occurred_at) AS day,
    kv.1 AS kind,
    kv.2 AS value
FROM material_interactions
ARRAY JOIN [('session', session_id), ('material', material_id)] AS kv
WHERE kv.2 != '' OR kv.1 = 'material'
GROUP BY user_id, day, kind, value;
