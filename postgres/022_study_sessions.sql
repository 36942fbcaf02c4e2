-- study_sessions: finished study sessions, written by the sessions processor (services/stream/sessions) when a
-- session ends (SESSION_END, once the partition's event-time watermark passed the end by the allowed lateness)
-- or times out (watermark past the last event by the inactivity timeout plus the allowed lateness). Live
-- sessions are in Redis (<prefix>sessions:live:<session_id>), not here. Every figure is derived from event times
-- only, so a replay writes identical rows; written with an idempotent upsert keyed by session_id.
--   end_reason         ended (a SESSION_END was seen) | inactivity_timeout
--   duration_ms        ended_at - started_at; active_ms + idle_ms = duration_ms
--   idle_ms            paused time plus every gap longer than the idle gap (default 5 min) between events
--   pause_count        pauses (SESSION_PAUSE; repeated pauses without a resume count once)
--   focus_score        active share / (1 + pauses per hour / 10); NULL for a zero-length session
--   questions_*        answers in the session (question-attempts with this session_id)
--   materials_opened   MATERIAL_OPEN events; notes, highlights from material-interactions
--   ai_coach_interactions  AI_COACH_QUERY events
--   event_count        events applied to the session (after end included); after-end ones are in late_events
--   updated_at         wall-clock time of the write (not deterministic)
CREATE TABLE study_sessions (
  session_id            text             PRIMARY KEY,
  user_id               text             NOT NULL,
  started_at            timestamptz      NOT NULL,
  ended_at              timestamptz      NOT NULL,
  end_reason            text             NOT NULL CHECK (end_reason IN ('ended', 'inactivity_timeout')),
  duration_ms           bigint           NOT NULL,
  active_ms             bigint           NOT NULL,
  idle_ms               bigint           NOT NULL,
  pause_count           integer          NOT NULL,
  focus_score           double precision,
  questions_answered    integer          NOT NULL,
  questions_correct     integer          NOT NULL,
  materials_opened      integer          NOT NULL,
  notes                 integer          NOT NULL,
  highlights            integer          NOT NULL,
  ai_coach_interactions integer          NOT NULL,
  event_count           integer          NOT NULL,
  updated_at            timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX study_sessions_user_started_idx ON study_sessions (user_id, started_at DESC);
