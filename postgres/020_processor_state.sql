-- Progress and bookkeeping of the stateful stream processors (sessions, mastery), kept in PostgreSQL so that
-- a processor's effects and its progress commit in ONE transaction (exactly-once effects, see
-- services/stream/mastery/README.md). Kafka offset commits are advisory only (lag monitoring, tools).

-- consumer_positions: the next offset to apply per consumer group and topic-partition. A processor locks the
-- rows of a batch's partitions (SELECT ... FOR UPDATE) in the transaction that applies the batch, skips records
-- below next_offset and advances it, so a re-delivered record is a no-op and two instances racing over one
-- partition during a rebalance serialize on the row. watermark_ms is the event-time watermark of the partition
-- (max occurred_at applied), stored with the offset so a restart resumes with exactly the watermark it had.
CREATE TABLE consumer_positions (
  consumer_group text        NOT NULL,
  topic          text        NOT NULL,
  partition      integer     NOT NULL CHECK (partition >= 0),
  next_offset    bigint      NOT NULL DEFAULT 0 CHECK (next_offset >= 0),
  watermark_ms   bigint,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);

-- processed_events: event_id dedupe per consumer group. Offsets catch re-delivery of the same record; this
-- table catches the same event re-sent by a client (it lands at a different offset). Inserted in the batch's
-- transaction with ON CONFLICT DO NOTHING; only events actually inserted are applied. occurred_at allows a
-- retention job to prune ids older than any plausible re-send (a re-send older than the pruning horizon would
-- be applied twice; keep the horizon far beyond the allowed lateness).
CREATE TABLE processed_events (
  consumer_group text        NOT NULL,
  event_id       text        NOT NULL,
  occurred_at    timestamptz NOT NULL,
  PRIMARY KEY (consumer_group, event_id)
);
CREATE INDEX processed_events_occurred_at_idx ON processed_events (occurred_at);

-- late_events: events that arrived later than the allowed lateness (or for a session already finalized) and
-- could not be applied in full. Never silently lost: the row says which event, where it was read, how late it
-- was and what the processor did with it (`handling`). Keyed by (processor, event_id) so re-delivery does not
-- add rows. The raw event itself stays in Kafka and ClickHouse; a rebuild with a larger lateness can apply it.
--   reason:   too_late | session_finalized | after_session_end
--   handling: recorded_only | counts_applied (mastery: counts and accuracies include it, the schedule does not)
-- topic/partition/offset/watermark_at are NULL for after_session_end: such events are found when the session
-- closes (from its timeline), so the row is the same whether they arrived before or after the close.
CREATE TABLE late_events (
  processor     text        NOT NULL,
  event_id      text        NOT NULL,
  user_id       text        NOT NULL,
  session_id    text,
  topic         text,
  partition     integer,
  "offset"      bigint,
  occurred_at   timestamptz NOT NULL,
  watermark_at  timestamptz,
  lateness_ms   bigint,
  reason        text        NOT NULL,
  handling      text        NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (processor, event_id)
);
CREATE INDEX late_events_user_idx ON late_events (user_id, occurred_at);
