-- 001_raw_events: the raw history, one table per event family (topics study-events, question-attempts,
-- material-interactions). ClickHouse holds every event ever accepted, exactly once per event_id.
--
-- ===== ClickHouse 18.16 constraints we live by (documented here once; every later migration obeys them) =====
-- The only server installable on our machines is 18.16.1, and the same SQL must run on current releases, so:
--  * No DateTime64: times are DateTime('UTC') (seconds) plus a UInt16 millisecond column where millis matter.
--  * No LowCardinality (experimental in 18.16): enum-like values are plain String (Avro enum symbols as text), so
--    a symbol added to an Avro enum never needs an ALTER here.
--  * No TTL clause: retention drops whole monthly partitions (`studystream retention`), deletion is a mutation.
--  * No server-side query parameters (param_x): every value is rendered by services/shared/sql.ts, nowhere else.
--  * No window functions (OVER): percentiles are computed with quantilesExact or a rank count (self-join).
--  * No JSONExtract*: JSON stays out of SQL (visitParam* exists if ever needed).
--  * No toStartOfWeek: use toMonday. No insert_deduplicate on non-replicated tables.
--  * A materialized view with `TO target` must produce every column of the target (18.16 fails with "Expected
--    column x" otherwise): views feeding a shared rollup emit neutral states (sumState(0), uniqExactStateIf('', 0)).
--  * Statements are idempotent (IF NOT EXISTS) and use unqualified names: the runner picks the database.
--
-- ===== Deduplication and exactness =====
-- Engine ReplacingMergeTree, ORDER BY (user_id, occurred_at, event_id): one student's history is one contiguous
-- key range (per-user time-range scans read few granules), and event_id in the key makes the merge key unique
-- per event. occurred_at is part of the event record, so every delivery of one event_id carries the same key.
-- Merges are eventual, so correctness does NOT rely on them:
--  1. The clickhouse-sink de-duplicates before it inserts: within a batch by event_id, and against the table by
--     asking which event_ids of the batch (for the batch's users and time range) are already stored. Kafka keys
--     by user_id and one consumer owns a partition, so no other writer inserts the same student concurrently in
--     steady state. This catches producer re-sends, replays from offset 0 and the crash window "insert acked,
--     offset commit lost". Hence the raw tables normally hold no duplicate at all and the rollups (fed by
--     materialized views, which see every inserted block, duplicates included) stay exact.
--  2. Queries over raw tables that must be exact even if a duplicate slipped in (a zombie consumer during a
--     rebalance, a manual INSERT) read with FINAL restricted to the users/time range they need (the primary key
--     prunes first, so FINAL only merges a few granules), or count with uniqExact(event_id). Analytics across
--     the cohort read the rollups (migration 002), never FINAL over the whole table.
-- Optional fields that are null in Avro are '' (strings) or Nullable (numbers where null differs from 0).

CREATE TABLE IF NOT EXISTS study_events
(
    event_id           UUID,
    user_id            String,
    occurred_at        DateTime('UTC'),
    occurred_ms        UInt16,
    received_at        DateTime('UTC'),
    schema_version     UInt16,
    event_type         String,
    session_id         String,
    topic_ids          Array(String),
    material_id        String,
    material_type      String,
    duration_ms        Nullable(Int64),
    end_reason         String,
    ai_interaction     String,
    ai_prompt_tokens   UInt32,
    ai_response_tokens UInt32,
    ai_helpful         Nullable(UInt8),
    api_method         String,
    api_route          String,
    api_status         UInt16,
    api_duration_ms    Int64,
    platform           String,
    app_version        String,
    ip_hash            String,
    browser            String,
    os                 String,
    offline_synced     UInt8,
    clock_skew_ms      Int64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (user_id, occurred_at, event_id);

CREATE TABLE IF NOT EXISTS question_attempts
(
    event_id          UUID,
    user_id           String,
    occurred_at       DateTime('UTC'),
    occurred_ms       UInt16,
    received_at       DateTime('UTC'),
    schema_version    UInt16,
    session_id        String,
    question_id       String,
    topic_ids         Array(String),
    selected_answer   String,
    is_correct        UInt8,
    attempt_number    UInt16,
    time_to_answer_ms Int64,
    confidence        Nullable(UInt8),
    difficulty        Nullable(Float64),
    exam_section      String,
    mode              String,
    platform          String,
    app_version       String,
    ip_hash           String,
    browser           String,
    os                String,
    offline_synced    UInt8,
    clock_skew_ms     Int64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (user_id, occurred_at, event_id);

CREATE TABLE IF NOT EXISTS material_interactions
(
    event_id         UUID,
    user_id          String,
    occurred_at      DateTime('UTC'),
    occurred_ms      UInt16,
    received_at      DateTime('UTC'),
    schema_version   UInt16,
    session_id       String,
    material_id      String,
    material_type    String,
    topic_ids        Array(String),
    interaction_type String,
    progress         Nullable(Float64),
    position_ms      Nullable(Int64),
    active_ms        Nullable(Int64),
    text_length      Nullable(Int32),
    platform         String,
    app_version      String,
    ip_hash          String,
    browser          String,
    os               String,
    offline_synced   UInt8,
    clock_skew_ms    Int64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (user_id, occurred_at, event_id);
