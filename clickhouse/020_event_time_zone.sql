-- 020_event_time_zone: the student's time zone on every raw event, and activity by local hour.
--
-- The Avro schemas' second version adds the optional envelope field time_zone (an IANA name, null when unknown;
-- services/shared/timezone.ts says why a name). The raw tables keep the name and its UTC offset at occurred_at in
-- minutes (east positive), both computed by the clickhouse-sink (services/stream/clickhouse-sink/rows.ts): 18.16
-- converts time zones only with a constant zone, so SQL needs the offset as a number. Rows stored before this
-- migration, and events of producers of the first schema version, read time_zone '' and utc_offset_min 0
-- (ADD COLUMN with a DEFAULT: no rewrite of existing parts, 18.16 serves the default for them).
--
-- hourly_user_local_sums: events, questions and active time per student and LOCAL hour (the wall-clock hour in the
-- event's own zone, stored as a DateTime('UTC') whose fields are the local ones), with tz_known = 0 for events
-- without a zone, whose local_hour is their UTC hour. Readers (services/analytics-api/data/history.ts) shift those by
-- the student's most recent known offset (utc_offset_min of the newest tz_known row), else leave them in UTC: the
-- documented fallback for old events. The offset is part of the key so that fallback can be read from the table.
--
-- Engine, reads and exactness as 004 (SummingMergeTree, reads always aggregate; the sink never inserts a raw row
-- twice). Backfill: from the raw history already stored, with the views' own SELECTs; apply with the
-- clickhouse-sink stopped, like 004. Idempotent: the table and views are dropped and created again first.
-- Portable: ClickHouse 18.16 and current releases (addMinutes, toStartOfHour; every view emits every column): checked
-- on the stack's 18.16.1 (test/integration/clickhouse/local-time.test.ts) and on chDB 4.4.0 = ClickHouse 26.9.2.1
-- (001-005 then 020 with a row stored before it: backfill, views and the API's read shapes).

ALTER TABLE study_events ADD COLUMN time_zone String DEFAULT '';
ALTER TABLE study_events ADD COLUMN utc_offset_min Int16 DEFAULT 0;
ALTER TABLE question_attempts ADD COLUMN time_zone String DEFAULT '';
ALTER TABLE question_attempts ADD COLUMN utc_offset_min Int16 DEFAULT 0;
ALTER TABLE material_interactions ADD COLUMN time_zone String DEFAULT '';
ALTER TABLE material_interactions ADD COLUMN utc_offset_min Int16 DEFAULT 0;

DROP TABLE IF EXISTS mv_study_events_hourly_user_local_sums;
DROP TABLE IF EXISTS mv_question_attempts_hourly_user_local_sums;
DROP TABLE IF EXISTS mv_material_interactions_hourly_user_local_sums;
DROP TABLE IF EXISTS hourly_user_local_sums;

CREATE TABLE hourly_user_local_sums
(
    user_id        String,
    local_hour     DateTime('UTC'),
    tz_known       UInt8,
    utc_offset_min Int16,
    events         UInt64,
    questions      UInt64,
    active_ms      Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(local_hour)
ORDER BY (user_id, local_hour, tz_known, utc_offset_min)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW mv_study_events_hourly_user_local_sums TO hourly_user_local_sums AS
SELECT
    user_id,
    toStartOfHour(addMinutes(occurred_at, study_events.utc_offset_min)) AS local_hour,
    toUInt8(time_zone != '') AS tz_known,
    study_events.utc_offset_min AS utc_offset_min,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(0)) AS active_ms
FROM study_events
GROUP BY user_id, local_hour, tz_known, utc_offset_min;

CREATE MATERIALIZED VIEW mv_question_attempts_hourly_user_local_sums TO hourly_user_local_sums AS
SELECT
    user_id,
    toStartOfHour(addMinutes(occurred_at, question_attempts.utc_offset_min)) AS local_hour,
    toUInt8(time_zone != '') AS tz_known,
    question_attempts.utc_offset_min AS utc_offset_min,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(1)) AS questions,
    sum(toInt64(time_to_answer_ms)) AS active_ms
FROM question_attempts
GROUP BY user_id, local_hour, tz_known, utc_offset_min;

CREATE MATERIALIZED VIEW mv_material_interactions_hourly_user_local_sums TO hourly_user_local_sums AS
SELECT
    user_id,
    toStartOfHour(addMinutes(occurred_at, material_interactions.utc_offset_min)) AS local_hour,
    toUInt8(time_zone != '') AS tz_known,
    material_interactions.utc_offset_min AS utc_offset_min,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(ifNull(material_interactions.active_ms, 0))) AS active_ms
FROM material_interactions
GROUP BY user_id, local_hour, tz_known, utc_offset_min;

INSERT INTO hourly_user_local_sums
SELECT
    user_id,
    toStartOfHour(addMinutes(occurred_at, study_events.utc_offset_min)) AS local_hour,
    toUInt8(time_zone != '') AS tz_known,
    study_events.utc_offset_min AS utc_offset_min,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(0)) AS active_ms
FROM study_events
GROUP BY user_id, local_hour, tz_known, utc_offset_min;

INSERT INTO hourly_user_local_sums
SELECT
    user_id,
    toStartOfHour(addMinutes(occurred_at, question_attempts.utc_offset_min)) AS local_hour,
    toUInt8(time_zone != '') AS tz_known,
    question_attempts.utc_offset_min AS utc_offset_min,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(1)) AS questions,
    sum(toInt64(time_to_answer_ms)) AS active_ms
FROM question_attempts
GROUP BY user_id, local_hour, tz_known, utc_offset_min;

INSERT INTO hourly_user_local_sums
SELECT
    user_id,
    toStartOfHour(addMinutes(occurred_at, material_interactions.utc_offset_min)) AS local_hour,
    toUInt8(time_zone != '') AS tz_known,
    material_interactions.utc_offset_min AS utc_offset_min,
    sum(toUInt64(1)) AS events,
    sum(toUInt64(0)) AS questions,
    sum(toInt64(ifNull(material_interactions.active_ms, 0))) AS active_ms
FROM material_interactions
GROUP BY user_id, local_hour, tz_known, utc_offset_min;
