import { createClickHouse } from '../../shared/clickhouse.ts';
import { loadConfig } from '../../shared/config.ts';
import { clusterNodesOf } from '../../shared/migrations.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { createRedis } from '../../shared/redis.ts';
import { deleteUserEverywhere } from '../../datatools/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream delete-user --user ID

Right to deletion, in every store. Destroys the student's key (their pseudonym on the Kafka topics: no event,
dead letter, replay or rebuild can be attributed to them again, and every consumer drops their records), waits
SUBJECT_CACHE_MS for every running process to see it, then removes the student from Redis (live sessions, the
session index, cached API answers), from every ClickHouse table with a user_id (live and rebuild leftovers) and from
every PostgreSQL table with a user_id (live and rebuild leftovers, snapshots included; the audit log is kept), and
prints what it removed where.
`;

/** `studystream delete-user --user ID`: see the help, and services/datatools/delete-user.ts. */
const deleteUserCommand: Command = async (args) => {
  const { values } = parseOptions(args, { user: { type: 'string' } });
  if (!values.user) throw new UsageError('delete-user needs --user ID');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(values.user))
    throw new UsageError('--user: 1-64 letters, digits, _ or -');
  const cfg = loadConfig();
  const ch = createClickHouse(cfg);
  const pg = createPgPool(cfg);
  const redis = createRedis(cfg);
  const cluster = await clusterNodesOf(cfg, cfg.CLICKHOUSE_DATABASE);
  try {
    const report = await deleteUserEverywhere(
      { cfg, pg, ch, cluster, redis, log: (line) => process.stderr.write(`${line}\n`) },
      values.user,
    );
    for (const r of report.removed)
      process.stdout.write(`${r.store.padEnd(10)} ${r.table.padEnd(48)} removed ${r.deleted}\n`);
  } finally {
    redis.disconnect();
    await pg.end();
    await ch.close();
    await cluster?.close();
  }
};
export default deleteUserCommand;
