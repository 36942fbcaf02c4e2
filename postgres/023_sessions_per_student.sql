-- study_sessions v2: sessions in per-student event time (services/stream/sessions/README.md).
-- * A session id is scoped to its student: the key is (user_id, session_id), so another student's events carrying
--   the same session_id are another session and never join or overwrite it.
-- * A session is the set of its student's events with its id; nothing is set aside as "too late". An event that
--   arrives after the row was written amends it: `timeline` keeps the session's events (sorted by time, each
--   {type, occurredAt, eventId, correct}) so the row can be recomputed, and `version` is the number of distinct
--   events, so an amendment raises it and a re-delivered or replayed event leaves it as it is. The upsert never
--   lowers a row's version.
-- * ended_at is now the session's last event (at or after its SESSION_END); end_reason says whether a SESSION_END
--   was received. Events after SESSION_END belong to the session.
-- Rows written before this migration have an empty timeline and version 0: `studystream rebuild --store sessions`
-- recomputes them from the topics (an amendment of such a row would otherwise start from the new events only).
ALTER TABLE study_sessions DROP CONSTRAINT study_sessions_pkey;
ALTER TABLE study_sessions ADD PRIMARY KEY (user_id, session_id);
ALTER TABLE study_sessions ADD COLUMN version integer NOT NULL DEFAULT 0;
ALTER TABLE study_sessions ADD COLUMN timeline jsonb NOT NULL DEFAULT '[]'::jsonb;
