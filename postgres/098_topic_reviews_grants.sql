-- 098_topic_reviews_grants: the least-privilege roles (096) decide on topic_reviews (088, review adherence).
--
-- The mastery processor merges each claimed answer's review day into topic_reviews in the same transaction as the
-- mastery rows (SELECT the topic's rows, INSERT ... ON CONFLICT DO UPDATE): SELECT, INSERT, UPDATE, never DELETE.
-- The analytics API reads it for the cohort releases through 070's default SELECT. Ingest and jobs: nothing.
-- Replacing the table (backfill-study-reads, rebuild --store mastery) is the owner's, as for every read model.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'studystream_stream') THEN
    GRANT SELECT, INSERT, UPDATE ON topic_reviews TO studystream_stream;
  END IF;
END $$;
