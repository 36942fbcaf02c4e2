/**
 * `studystream rebuild`: recompute a derived store from the beginning of the topics into shadow tables, verify
 * them against the live tables, then switch atomically. The old data is kept until dropped on confirmation.
 *
 * One module per store: rebuild-mastery.ts, rebuild-clickhouse.ts and rebuild-sessions.ts, each with its steps
 * (shadow, build, verify, switch) in its header; what they share is in rebuild-shared.ts.
 */
import type { ToolContext } from './context.ts';
import { rebuildClickHouse } from './rebuild-clickhouse.ts';
import { rebuildMastery } from './rebuild-mastery.ts';
import { rebuildSessions } from './rebuild-sessions.ts';
import type { RebuildOptions, RebuildReport } from './rebuild-shared.ts';

export type { RebuildReport } from './rebuild-shared.ts';

/** Rebuilds one store (`studystream rebuild --store ...`). */
export function rebuildStore(
  ctx: ToolContext,
  store: RebuildReport['store'],
  opts: RebuildOptions,
): Promise<RebuildReport> {
  if (store === 'mastery') return rebuildMastery(ctx, opts);
  if (store === 'sessions') return rebuildSessions(ctx, opts);
  return rebuildClickHouse(ctx, opts);
}
