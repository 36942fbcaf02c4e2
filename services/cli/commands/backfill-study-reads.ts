import { backfillReviewDays, backfillStudyReads, liveGroups } from '../../datatools/index.ts';
import { loadConfig } from '../../shared/config.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { noArguments, type Command } from '../command.ts';

export const help = `usage: studystream backfill-study-reads

Replaces the per-student read models of the knowledge-gaps and exam-readiness endpoints (PostgreSQL
student_study_days and student_materials, postgres/075) and the topic reviews behind the review-adherence cohort
metric (topic_reviews, postgres/088) with what the raw history in ClickHouse implies under the mastery processor's
rules. For data stored before postgres/075 or loaded straight into the stores (the API
benchmark's dataset). Run it when the mastery processor has applied what the sink stored (caught up, or stopped
after both drained): it locks the processor's positions while it writes, but an event stored by the sink and not
yet applied by the processor would be counted twice. \`studystream reconcile\` checks the result.
`;

const command: Command = async (args) => {
  noArguments(args);
  const cfg = loadConfig();
  const pool = createPgPool(cfg);
  try {
    const started = performance.now();
    const r = await backfillStudyReads(cfg, pool, liveGroups(cfg).mastery);
    process.stdout.write(
      `backfilled ${r.days} student-days and ${r.materials} student-materials of ${r.students} students in ${Math.round(performance.now() - started)} ms\n`,
    );
    const reviewsStarted = performance.now();
    const v = await backfillReviewDays(cfg, pool, liveGroups(cfg).mastery);
    process.stdout.write(
      `backfilled ${v.reviews} topic reviews of ${v.topics} student-topics in ${Math.round(performance.now() - reviewsStarted)} ms\n`,
    );
  } finally {
    await pool.end();
  }
};
export default command;
