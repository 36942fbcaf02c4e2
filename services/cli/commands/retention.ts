import { createClickHouse } from '../../shared/clickhouse.ts';
import { loadConfig } from '../../shared/config.ts';
import { clusterNodesOf } from '../../shared/migrations.ts';
import { applyRetention } from '../../stream/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream retention [--months 24] [--dry-run]

Drops ClickHouse monthly partitions older than --months (default RETENTION_MONTHS or 24); --dry-run lists them.
`;

/** `studystream retention [--months 24] [--dry-run]`: drops monthly partitions older than the limit. */
const retention: Command = async (args) => {
  const { values } = parseOptions(args, { months: { type: 'string' }, 'dry-run': { type: 'boolean' } });
  const monthsText = values.months ?? process.env.RETENTION_MONTHS ?? '24';
  if (!/^\d+$/.test(monthsText) || Number(monthsText) < 1)
    throw new UsageError('--months must be a positive integer');
  const cfg = loadConfig();
  const client = createClickHouse(cfg);
  const cluster = await clusterNodesOf(cfg, cfg.CLICKHOUSE_DATABASE);
  try {
    const report = await applyRetention(client, cfg.CLICKHOUSE_DATABASE, {
      months: Number(monthsText),
      dryRun: values['dry-run'] ?? false,
      cluster,
    });
    const verb = report.dryRun ? 'would drop' : 'dropped';
    for (const p of report.dropped) {
      process.stdout.write(
        `${verb} ${p.table} partition ${p.partition} (${p.rows} rows, ${p.bytes} bytes)\n`,
      );
    }
    process.stdout.write(
      `${verb} ${report.dropped.length} partitions; keeping ${report.keepFrom} and newer\n`,
    );
  } finally {
    await client.close();
    await cluster?.close();
  }
};
export default retention;
