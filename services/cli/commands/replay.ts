import { streamEnv } from '../../stream/index.ts';
import type { ProcessorDefinition } from '../../stream/index.ts';
import { runBounded, seedKafkaGroup } from '../../datatools/index.ts';
import { openContext, table } from '../../datatools/index.ts';
import { formatDuration, formatRate, ProgressLine } from '../../shared/progress.ts';
import {
  clampToLive,
  computeRanges,
  livePositions,
  masteryDefinition,
  parseBound,
  processorTopics,
  PROCESSORS,
  seedPostgresPositions,
  seedRedisPositions,
  sessionsReplayDefinition,
  sinkDefinition,
  timestampTag,
  type ProcessorName,
} from '../../datatools/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream replay --processor clickhouse-sink|sessions|mastery --from B --to B
                          [--users u1,u2] [--topic T] [--quiet]

Re-processes a range of the event topics through one processor under its own consumer group
(replay-<processor>-<timestamp>); the live group's positions are never touched. B is earliest, latest, an
ISO-8601 instant or epoch ms (Kafka record time, i.e. when the event was ingested), or per-partition offsets
"0:1200,1:980". End offsets are fixed at start and clamped to the live processor's position, so a replay only
re-reads what the live pipeline already made durable and never counts an event twice (effects dedupe on
event_id). It stops by itself at the end of the range.
`;

/** `studystream replay ...` (see help). */
const replay: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    processor: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    users: { type: 'string' },
    topic: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(help.trimEnd());
  const processor = values.processor as ProcessorName;
  if (!PROCESSORS.includes(processor))
    throw new UsageError(`--processor must be one of ${PROCESSORS.join(', ')}`);
  if (!values.from || !values.to) throw new UsageError('replay needs --from and --to');
  const from = parseBound(values.from);
  const to = parseBound(values.to);
  if (!from || !to)
    throw new UsageError('--from/--to: earliest, latest, ISO-8601 instant, epoch ms, or P:O,P:O');
  const users = values.users
    ? new Set(
        values.users
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      )
    : undefined;

  const ctx = await openContext(process.env, 'replay');
  try {
    let topics = processorTopics(ctx.cfg, processor);
    if (values.topic) {
      if (!topics.includes(values.topic))
        throw new UsageError(
          `${processor} reads ${topics.join(', ')}; --topic ${values.topic} is not one of them`,
        );
      topics = [values.topic];
    }
    const requested = await computeRanges(ctx.admin, topics, from, to);
    const { ranges, clamped } = clampToLive(requested, await livePositions(ctx, processor));
    const total = ranges.reduce((s, r) => s + (r.to - r.from), 0);
    const group = `${ctx.cfg.KAFKA_TOPIC_PREFIX}replay-${processor}-${timestampTag()}`;
    process.stdout.write(
      table(
        ['TOPIC', 'PARTITION', 'FROM', 'TO', 'RECORDS'],
        ranges.map((r) => [r.topic, r.partition, r.from, r.to, r.to - r.from]),
      ),
    );
    if (clamped > 0)
      process.stdout.write(
        `${clamped} partition(s) clamped to the live ${processor} position (not yet processed live)\n`,
      );
    process.stdout.write(
      `replaying ${total} records with group ${group}${users ? ` for ${users.size} user(s)` : ''}\n`,
    );
    if (total === 0) return 0;

    const stream = streamEnv.load(ctx.env);
    const progress = new ProgressLine(`replay ${processor}`, { quiet: values.quiet ?? false, rate: false });
    const onProgress = (p: { done: number; total: number; remaining: number; elapsedMs: number }) => {
      const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
      progress.update(
        p.done,
        p.total,
        `${p.done.toLocaleString('en-US')} events, ${p.remaining.toLocaleString('en-US')} left, ${formatRate(rate)}, eta ${formatDuration(rate > 0 ? p.remaining / rate : Number.NaN)}`,
        p.remaining === 0,
      );
    };
    // Each processor: its definition, its own positions seeded at the range starts (and removed afterwards).
    const runRange = async <T>(def: ProcessorDefinition<T>, cleanup: () => Promise<unknown>) => {
      await seedKafkaGroup(ctx.admin, group, ranges);
      try {
        return await runBounded({
          def,
          kafka: ctx.kafka,
          log: ctx.log,
          stream,
          deadLetterTopic: ctx.deadLetterTopic,
          ranges,
          users,
          onProgress,
        });
      } finally {
        await cleanup();
      }
    };
    let result;
    if (processor === 'clickhouse-sink') {
      const { def, close } = sinkDefinition(ctx.cfg, ctx.env, group, ctx.cfg.CLICKHOUSE_DATABASE);
      result = await runRange(def, close);
    } else if (processor === 'sessions') {
      const redis = await ctx.redis();
      const positionsKey = `sessions:pos:${group}`;
      const def = sessionsReplayDefinition(ctx.cfg, ctx.env, ctx.pool(), redis, group, positionsKey, ctx.log);
      await seedRedisPositions(redis, positionsKey, ranges);
      result = await runRange(def, () => redis.del(positionsKey));
    } else {
      const def = await masteryDefinition(ctx.cfg, ctx.env, ctx.pool(), group, ctx.groups.mastery, ctx.log);
      await seedPostgresPositions(ctx.pool(), group, ranges);
      result = await runRange(def, () =>
        ctx.pool().query('DELETE FROM consumer_positions WHERE consumer_group = $1', [group]),
      );
    }
    await ctx.admin.deleteGroups([group]).catch(() => undefined);
    process.stdout.write(
      `replayed ${result.inRange} records (${result.skippedUsers} of other users skipped) in ${formatDuration(result.ms / 1000)}` +
        `, ${formatRate((result.inRange * 1000) / Math.max(1, result.ms))}\n`,
    );
    return 0;
  } finally {
    await ctx.close();
  }
};
export default replay;
