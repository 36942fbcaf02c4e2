-- The curriculum taxonomy, organised like the USMLE Step 1 content outline: systems (level 0), system x
-- discipline areas (level 1) and specific topics (level 2). board_weight is the topic's share of the exam, so
-- a parent's weight is the sum of its children's and mastery can roll up to parents by weight. Ids are stable
-- slugs (cardio.path.heart-failure) because events and derived tables refer to them by id.
-- The data lives in services/domain-data/taxonomy.ts and is loaded idempotently by postgres/taxonomy/load.ts.
CREATE TABLE topics (
  id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$'),
  name         text NOT NULL,
  parent_id    text REFERENCES topics (id),
  level        smallint NOT NULL CHECK (level >= 0),
  system       text NOT NULL,
  discipline   text,
  board_weight double precision NOT NULL DEFAULT 0 CHECK (board_weight >= 0),
  description  text NOT NULL DEFAULT '',
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK ((level = 0) = (parent_id IS NULL))
);
CREATE INDEX topics_parent_id_idx ON topics (parent_id);
CREATE INDEX topics_system_discipline_idx ON topics (system, discipline);

-- Prerequisite edges point from the topic to learn first to the topic that builds on it (acyclic);
-- related edges are stored once and read as undirected.
CREATE TABLE topic_relationships (
  from_topic_id text NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  to_topic_id   text NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('prerequisite', 'related')),
  strength      double precision NOT NULL DEFAULT 1 CHECK (strength > 0 AND strength <= 1),
  PRIMARY KEY (from_topic_id, to_topic_id, kind),
  CHECK (from_topic_id <> to_topic_id)
);
CREATE INDEX topic_relationships_to_idx ON topic_relationships (to_topic_id, kind);
