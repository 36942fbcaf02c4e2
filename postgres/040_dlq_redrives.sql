-- dlq_redrives: dead letters re-published to their source topic by `studystream dlq redrive`, one row per dead
-- letter (keyed by the dead-letter topic, partition and offset), so each is re-driven at most once. The row is
-- inserted in a transaction that commits only after Kafka acknowledged the re-published record (see
-- services/datatools/dlq.ts); target is where the record landed (topic/partition:offset).
CREATE TABLE dlq_redrives (
  dlq_topic        text        NOT NULL,
  dlq_partition    integer     NOT NULL,
  dlq_offset       bigint      NOT NULL,
  source_topic     text        NOT NULL,
  source_partition integer     NOT NULL,
  source_offset    bigint      NOT NULL,
  reason           text        NOT NULL DEFAULT '',
  target           text,
  redriven_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
