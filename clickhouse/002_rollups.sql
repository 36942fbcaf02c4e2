-- 002_rollups: continuous rollups maintained by materialized views as events are inserted (not only nightly).
--
-- Tables are AggregatingMergeTree with -State columns, read with -Merge and GROUP BY over the key (never plain
-- SELECT *): several rows per key exist until background merges, and -Merge is exact before and after them.
-- Partitioned by month like the raw tables, so retention drops the same partition ids everywhere.
--
-- Exactness: a materialized view sees every inserted block, so a raw row inserted twice would be summed twice by
-- sumState. We keep rollups exact by never inserting a duplicate (the sink's pre-insert check against the raw
-- table, see 001), and where a figure is naturally a distinct count (sessions, materials, students) we use
-- uniqExactState, which is immune to duplicates anyway. Counting every event with uniqExactState(event_id) would
-- also be immune, but it stores every event id again in each rollup (more bytes than the raw table itself), so
-- sums it is. Tested in test/integration/stream/replay-is-idempotent.test.ts with duplicated and replayed input.
--
-- Definitions: study_ms = client-measured duration of SESSION_END events. active_ms = active time on materials
-- (material_interactions.active_ms) plus time spent answering questions (time_to_answer_ms). sessions = distinct
-- session ids seen that day. first_attempts/first_attempt_correct = attempts with attempt_number = 1.
-- Days and hours are UTC; the heatmap derives hour of day and weekday at query time (toHour, toDayOfWeek).
-- Each view emits every column of its target (an 18.16 requirement, see 001), neutral states where it has none.

CREATE TABLE IF NOT EXISTS daily_user_stats
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
ORDER BY (user_id, day);

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

CREATE TABLE IF NOT EXISTS daily_user_topic_stats
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
ORDER BY (user_id, topic_id, day);

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

CREATE TABLE IF NOT EXISTS hourly_user_activity
(
    user_id   String,
    hour      DateTime('UTC'),
    events    AggregateFunction(sum, UInt64),
    questions AggregateFunction(sum, UInt64),
    active_ms AggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (user_id, hour);

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

CREATE TABLE IF NOT EXISTS daily_topic_stats
(
    topic_id              String,
    day                   Date,
    questions             AggregateFunction(sum, UInt64),
    correct               AggregateFunction(sum, UInt64),
    first_attempts        AggregateFunction(sum, UInt64),
    first_attempt_correct AggregateFunction(sum, UInt64),
    answer_ms             AggregateFunction(sum, Int64),
    students              AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (topic_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_question_attempts_daily_topic TO daily_topic_stats AS
SELECT
    arrayJoin(topic_ids) AS topic_id,
    toDate(occurred_at) AS day,
    sumState(toUInt64(1)) AS questions,
    sumState(toUInt64(is_correct)) AS correct,
    sumState(toUInt64(attempt_number = 1)) AS first_attempts,
    sumState(toUInt64(attempt_number = 1 AND is_correct = 1)) AS first_attempt_correct,
    sumState(toInt64(time_to_answer_ms)) AS answer_ms,
    uniqExactState(user_id) AS students
FROM question_attempts
GROUP BY topic_id, day;
