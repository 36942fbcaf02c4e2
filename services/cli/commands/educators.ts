import { loadConfig } from '../../shared/config.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { assignEducator, listAssignments } from '../../analytics-api/index.ts';
import { cohortId, userId } from '../../analytics-api/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream educators assign|unassign --educator ID --cohort C
       studystream educators list [--educator ID]

Server-side educator-to-cohort assignments (PostgreSQL educator_cohorts). An educator reads a cohort's aggregates
only when the cohort is both in their token's \`cohorts\` claim and assigned here; an unassignment takes effect within
API_SERVER_CHECKS_CACHE_MS, without waiting for the token to expire.
`;
export const subcommands = {
  assign:
    'usage: studystream educators assign --educator ID --cohort C\n\nLets the educator read the cohort (with a token naming it).\n',
  unassign:
    'usage: studystream educators unassign --educator ID --cohort C\n\nTakes the cohort away from the educator.\n',
  list: 'usage: studystream educators list [--educator ID]\n\nPrints the assignments, one "educator<TAB>cohort" a line.\n',
};

/** `studystream educators`: manages which cohorts each educator may read (postgres/091). */
const educators: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    educator: { type: 'string' },
    cohort: { type: 'string' },
  });
  const sub = positionals[0];
  if (positionals.length !== 1 || !['assign', 'unassign', 'list'].includes(sub!))
    throw new UsageError(help.trimEnd());
  if (values.educator !== undefined && !userId.safeParse(values.educator).success)
    throw new UsageError('--educator: 1-64 letters, digits, _ or -');
  const pool = createPgPool(loadConfig());
  try {
    if (sub === 'list') {
      for (const r of await listAssignments(pool, values.educator))
        process.stdout.write(`${r.educator_id}\t${r.cohort_id}\n`);
      return;
    }
    if (!values.educator || !values.cohort)
      throw new UsageError(`educators ${sub} needs --educator and --cohort`);
    if (!cohortId.safeParse(values.cohort).success)
      throw new UsageError('--cohort: 1-64 letters, digits, _ or -');
    const changed = await assignEducator(pool, values.educator, values.cohort, sub === 'assign');
    process.stdout.write(
      `${values.educator} ${sub === 'assign' ? 'assigned to' : 'unassigned from'} ${values.cohort}${changed ? '' : ' (no change)'}\n`,
    );
  } finally {
    await pool.end();
  }
};
export default educators;
