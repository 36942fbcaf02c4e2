import { openContext, table } from '../../datatools/index.ts';
import { formatDuration, formatRate, ProgressLine } from '../../shared/progress.ts';
import { rebuildStore } from '../../datatools/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream rebuild --store mastery|clickhouse|sessions [--verify-only] [--accept-differences]
                           [--confirm-drop-old] [--keep-shadow] [--quiet]

Recomputes a derived store (mastery, ClickHouse, closed study sessions) from the beginning of the topics into shadow
tables (PostgreSQL schema rebuild_<ts>, or ClickHouse database <db>_rebuild_<ts>, migrated by the same runner), verifies them against the
live tables (row counts and checksums of canonical rows), then switches atomically. The old tables are kept in
rebuild_old_<ts> (<db>_old_<ts>) until dropped: --confirm-drop-old drops them after a successful switch.
A shadow that differs from live is kept and not switched unless --accept-differences (expected after a logic
change). --verify-only builds and compares without switching.
  drop the old data later:  psql -c 'DROP SCHEMA rebuild_old_<ts> CASCADE'  /  DROP DATABASE <db>_old_<ts>
`;

/** `studystream rebuild --store mastery|clickhouse|sessions ...` (see help). */
const rebuild: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    store: { type: 'string' },
    'verify-only': { type: 'boolean' },
    'accept-differences': { type: 'boolean' },
    'confirm-drop-old': { type: 'boolean' },
    'keep-shadow': { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(help.trimEnd());
  const store = values.store;
  if (store !== 'mastery' && store !== 'clickhouse' && store !== 'sessions')
    throw new UsageError('--store must be mastery, clickhouse or sessions');
  const ctx = await openContext(process.env, 'rebuild');
  const progress = new ProgressLine(`rebuild ${store}`, { quiet: values.quiet ?? false, rate: false });
  try {
    const opts = {
      acceptDifferences: values['accept-differences'] ?? false,
      confirmDropOld: values['confirm-drop-old'] ?? false,
      verifyOnly: values['verify-only'] ?? false,
      keepShadow: values['keep-shadow'] ?? false,
      onProgress: (p: { phase: string; done: number; total: number; remaining: number; elapsedMs: number }) =>
        progress.update(
          p.done,
          p.total,
          `${p.phase} ${p.done.toLocaleString('en-US')} events, ${p.remaining.toLocaleString('en-US')} left, ` +
            `${formatRate((p.done * 1000) / Math.max(1, p.elapsedMs))}`,
          p.remaining === 0,
        ),
    };
    const report = await rebuildStore(ctx, store, opts);
    process.stdout.write(
      table(
        ['TABLE', 'LIVE_ROWS', 'SHADOW_ROWS', 'LIVE_CHECKSUM', 'SHADOW_CHECKSUM', 'MATCH'],
        report.checks.map((c) => [
          c.table,
          c.live.rows,
          c.shadow.rows,
          c.live.hash,
          c.shadow.hash,
          c.live.rows === c.shadow.rows && c.live.hash === c.shadow.hash ? 'yes' : 'NO',
        ]),
      ),
    );
    process.stdout.write(
      `rebuilt ${store} from ${report.events.toLocaleString('en-US')} events in ${formatDuration(report.ms / 1000)} ` +
        `(build ${formatDuration(report.buildMs / 1000)}, ${formatRate((report.events * 1000) / Math.max(1, report.buildMs))}); ` +
        (report.switched
          ? `switched; old data ${report.droppedOld ? 'dropped' : `kept in ${report.old}`}\n`
          : `not switched (${report.matches ? 'verify only' : 'differences'})\n`),
    );
    return 0;
  } finally {
    await ctx.close();
  }
};
export default rebuild;
