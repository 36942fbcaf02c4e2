import { createClickHouse } from '../../shared/clickhouse.ts';
import { loadConfig } from '../../shared/config.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { deleteUserFromPostgres } from '../../datatools/index.ts';
import { deleteUser } from '../../stream/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream delete-user --user ID

Removes one user's rows from every ClickHouse raw and per-user rollup table and from the PostgreSQL state tables,
and prints the counts. The events stay in the Kafka topics (see the README on deletion).
`;

/**
 * `studystream delete-user --user ID`: removes one user's rows from every ClickHouse raw and per-user rollup table
 * and from the PostgreSQL state tables, and reports the counts. The events themselves stay in the Kafka topics
 * (the source of truth for replays): see the README on deletion.
 */
const deleteUserCommand: Command = async (args) => {
  const { values } = parseOptions(args, { user: { type: 'string' } });
  if (!values.user) throw new UsageError('delete-user needs --user ID');
  const cfg = loadConfig();
  const client = createClickHouse(cfg);
  try {
    const report = await deleteUser(client, cfg.CLICKHOUSE_DATABASE, values.user);
    for (const t of report.tables)
      process.stdout.write(`clickhouse ${t.table.padEnd(24)} before ${t.before}  after ${t.after}\n`);
    const left = report.tables.reduce((n, t) => n + t.after, 0);
    if (left > 0) throw new Error(`${left} rows of user ${values.user} remain`);
  } finally {
    await client.close();
  }
  const pool = createPgPool(cfg);
  try {
    for (const t of await deleteUserFromPostgres(pool, values.user))
      process.stdout.write(`postgres   ${t.table.padEnd(24)} deleted ${t.deleted}\n`);
  } finally {
    await pool.end();
  }
};
export default deleteUserCommand;
