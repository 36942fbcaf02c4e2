-- 093_subject_keys: crypto-shredding of the event topics (issue 18, finding 4).
--
-- The topics keep every event for replays and rebuilds, and Kafka cannot delete one student's records. So the
-- student is never written there: producers (ingest, import, the simulator) put a random per-student pseudonym
-- (`~` and 22 base64url characters, 128 random bits) in user_id and in the record key, and this table is the only
-- link back. Consumers (sink, processors, replay, rebuild, dead-letter redrive) resolve it when they decode.
-- `delete-user` deletes the student's row: from then on no copy of their events, on the topics, in the dead-letter
-- topic or in a backup of either, can be attributed to anyone, and every consumer drops them (the key is destroyed).
-- A student who comes back later gets a new pseudonym.
CREATE TABLE IF NOT EXISTS subject_keys (
  user_id    text PRIMARY KEY CHECK (user_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  pseudonym  text NOT NULL UNIQUE CHECK (pseudonym ~ '^~[A-Za-z0-9_-]{22}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Students deleted, for records written before pseudonyms (or with STUDYSTREAM_PSEUDONYMS=0), which carry the
-- plain user_id: consumers drop those whose id hashes to one of these. SHA-256 of the id (ids are already
-- pseudonymous; this list says only that some id was deleted).
CREATE TABLE IF NOT EXISTS erased_subjects (
  user_sha256 bytea PRIMARY KEY CHECK (length(user_sha256) = 32),
  erased_at   timestamptz NOT NULL DEFAULT now()
);
