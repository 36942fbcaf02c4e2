-- 096_service_roles: a least-privilege PostgreSQL role per service (issue 18, "least-privilege database roles").
--
-- 070 gave the analytics API its own role; this gives one to every other service, so a bug (or an injected
-- statement) in one service can reach only the tables that service works on:
--
-- * studystream_ingest (INGEST_PG_ROLE): looks up API keys (SELECT api_keys), creates and reads the students'
--   pseudonyms (SELECT, INSERT subject_keys; SELECT erased_subjects), reads ingest-token revocations (097, SELECT token_revocations).
--   Nothing else: no mastery, sessions, audit log or any other serving table.
-- * studystream_stream (STREAM_PG_ROLE): the processors' own tables (SELECT, INSERT, UPDATE on consumer_positions,
--   processed_events, late_events, topic_mastery, topic_mastery_history, study_sessions, student_study_days,
--   student_materials), and reads the taxonomy, the item calibration and the pseudonyms (SELECT topics,
--   topic_relationships, item_calibration, subject_keys, erased_subjects; never INSERT subject_keys: consumers only
--   resolve). No DELETE anywhere; no api_keys, audit_log, token revocations, cohorts or snapshots.
-- * studystream_jobs (JOBS_PG_ROLE): reads what the snapshot and calibration jobs compute from (the serving tables
--   of mastery, sessions, study reads, the taxonomy and cohorts) and writes their results (knowledge_gaps: SELECT,
--   INSERT, DELETE of a day's rows it replaces; user_learning_metrics, item_statistics, item_calibration: SELECT,
--   INSERT, UPDATE). No api_keys, subject_keys, audit_log, token revocations or processor bookkeeping.
-- * studystream_api (070) no longer reads api_keys or subject_keys (it never did): 070's blanket SELECT covered them.
-- * The owner (the migrating role) stays what `migrate`, the data tools (replay, rebuild, import, delete-user, dlq,
--   retention, apikey, token, educators) and `npm start`'s demo loader connect as: they are administration.
--
-- Like 070: the roles are NOLOGIN and cluster-wide, created once; the connecting user becomes a member and each
-- service switches to its role at connection start (SET ROLE as a startup parameter). The grants are per schema
-- (this one) and explicit, table by table: a later migration that adds a table a service uses grants it here too
-- (test/integration/foundation/service-roles.test.ts fails for a table no decision covers). None of these roles
-- owns anything or may CREATE in the schema, so none can ALTER, DROP or TRUNCATE a table. SET ROLE bounds what the
-- service's own statements can do; for a boundary that holds against a compromised process, give each service a
-- LOGIN user that is a member of its role only (README "Least-privilege database roles").
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['studystream_ingest', 'studystream_stream', 'studystream_jobs'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION
        WHEN insufficient_privilege THEN
          RAISE WARNING 'cannot create role % (no CREATEROLE): create it by hand (CREATE ROLE % NOLOGIN; GRANT % TO %) and migrate again, or set the service''s *_PG_ROLE empty', r, r, r, current_user;
          CONTINUE;
        WHEN duplicate_object OR unique_violation THEN
          NULL; -- another schema's migration created it at the same moment
      END;
    END IF;
    IF NOT pg_has_role(current_user, r, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', r, current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), r);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', current_schema(), r);
  END LOOP;

  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'studystream_ingest') THEN
    GRANT SELECT ON api_keys, erased_subjects TO studystream_ingest;
    GRANT SELECT, INSERT ON subject_keys TO studystream_ingest;
  END IF;

  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'studystream_stream') THEN
    GRANT SELECT ON topics, topic_relationships, item_calibration, subject_keys, erased_subjects
      TO studystream_stream;
    GRANT SELECT, INSERT, UPDATE ON consumer_positions, processed_events, late_events, topic_mastery,
      topic_mastery_history, study_sessions, student_study_days, student_materials TO studystream_stream;
  END IF;

  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'studystream_jobs') THEN
    GRANT SELECT ON topics, topic_relationships, topic_mastery, topic_mastery_history, study_sessions,
      student_study_days, student_materials, cohorts, cohort_members TO studystream_jobs;
    GRANT SELECT, INSERT, DELETE ON knowledge_gaps TO studystream_jobs;
    GRANT SELECT, INSERT, UPDATE ON user_learning_metrics, item_statistics, item_calibration TO studystream_jobs;
  END IF;

  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'studystream_api') THEN
    REVOKE ALL ON api_keys, subject_keys FROM studystream_api;
  END IF;
END $$;
