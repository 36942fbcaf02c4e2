import { openContext, parseInstant, table, type ToolContext } from '../../datatools/index.ts';
import {
  applyKafkaReset,
  applyPostgresReset,
  assertGroupInactive,
  groupsOnTopics,
  kafkaPositions,
  lagRows,
  planReset,
  postgresPositions,
  redisSessionPositions,
  targetOffsets,
  watermarks,
  type LagRow,
  type ResetTarget,
} from '../../datatools/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const subcommands = {
  reset:
    "usage: studystream offsets reset --group G (--to-earliest | --to-latest | --to-timestamp ISO) [--topic T] [--execute]\n\nPlans new positions for the group (dry run: prints the plan, changes nothing); --execute applies it to Kafka\nand to the group's PostgreSQL positions, only while the group has no active member.\n",
};

export const help = `usage:
  studystream offsets [--group G]
      lag per consumer group and partition: Kafka committed offsets, plus the stored positions of the
      stateful processors (PostgreSQL consumer_positions for mastery, Redis sessions:pos for sessions)
  studystream offsets reset --group G (--to-earliest | --to-latest | --to-timestamp ISO) [--topic T] [--execute]
      plans new positions for the group (dry run: prints the plan, changes nothing); --execute applies it to
      Kafka and to the group's PostgreSQL positions, only while the group has no active member
`;

async function lag(ctx: ToolContext, group: string | undefined): Promise<LagRow[]> {
  const marks = await watermarks(ctx.admin, ctx.eventTopics);
  const rows: LagRow[] = [];
  const kafkaGroups = group ? [group] : await groupsOnTopics(ctx.admin, ctx.eventTopics);
  for (const g of kafkaGroups) {
    const all = await kafkaPositions(ctx.admin, g, ctx.eventTopics);
    const read = new Set(all.filter((p) => p.offset !== null).map((p) => p.topic));
    const positions = all.filter((p) => read.has(p.topic)); // only topics the group consumes
    if (positions.length > 0) rows.push(...lagRows(g, 'kafka', positions, marks));
  }
  const pg = await postgresPositions(ctx.pool(), group).catch(() => new Map());
  for (const [g, positions] of pg) rows.push(...lagRows(g, 'postgres', positions, marks));
  if (!group || group === ctx.groups.sessions) {
    const positions = await redisSessionPositions(await ctx.redis()).catch(() => []);
    if (positions.length > 0) rows.push(...lagRows(ctx.groups.sessions, 'redis', positions, marks));
  }
  return rows;
}

function target(values: {
  'to-earliest'?: boolean;
  'to-latest'?: boolean;
  'to-timestamp'?: string;
}): ResetTarget {
  const chosen = [values['to-earliest'], values['to-latest'], values['to-timestamp'] !== undefined].filter(
    Boolean,
  );
  if (chosen.length !== 1)
    throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-timestamp');
  if (values['to-earliest']) return { kind: 'earliest' };
  if (values['to-latest']) return { kind: 'latest' };
  const ms = parseInstant(values['to-timestamp']!);
  if (ms === undefined) throw new UsageError('--to-timestamp must be an ISO-8601 time with zone or epoch ms');
  return { kind: 'timestamp', ms };
}

async function reset(
  ctx: ToolContext,
  group: string,
  to: ResetTarget,
  topic: string | undefined,
  execute: boolean,
): Promise<number> {
  if (topic && !ctx.eventTopics.includes(topic) && topic !== ctx.deadLetterTopic)
    throw new UsageError(`unknown topic ${topic} (event topics: ${ctx.eventTopics.join(', ')})`);
  const pg = (await postgresPositions(ctx.pool(), group).catch(() => new Map())).get(group) ?? [];
  const kafka = (await kafkaPositions(ctx.admin, group, ctx.eventTopics)).filter((p) => p.offset !== null);
  const isSessions = group === ctx.groups.sessions;
  let topics = topic ? [topic] : [...new Set([...kafka, ...pg].map((p) => p.topic))].sort();
  if (topics.length === 0) topics = ctx.eventTopics;
  const targets = await targetOffsets(ctx.admin, topics, to);
  const kafkaPlan = planReset(await kafkaPositions(ctx.admin, group, topics), targets);
  const pgPlan = pg.length > 0 ? planReset(pg, targets) : [];

  const out: Array<Array<string | number>> = [];
  for (const p of kafkaPlan) out.push(['kafka', p.topic, p.partition, p.current ?? '-', p.target]);
  for (const p of pgPlan) out.push(['postgres', p.topic, p.partition, p.current ?? '-', p.target]);
  process.stdout.write(`${execute ? 'applying' : 'plan (dry run, nothing changed)'} for group ${group}:\n`);
  process.stdout.write(table(['STORE', 'TOPIC', 'PARTITION', 'CURRENT', 'TARGET'], out));
  if (isSessions)
    process.stdout.write(
      'note: the sessions processor keeps its authoritative positions with event-time watermarks in Redis; ' +
        'they are not reset (only the advisory Kafka commits are)\n',
    );
  if (!execute) {
    process.stdout.write('dry run: add --execute to apply\n');
    return 0;
  }
  if (isSessions)
    throw new Error('refusing to reset the sessions group: its positions live in Redis with watermarks');
  await assertGroupInactive(ctx.admin, group);
  await applyKafkaReset(ctx.admin, group, kafkaPlan);
  if (pgPlan.length > 0) await applyPostgresReset(ctx.pool(), group, pgPlan);
  process.stdout.write(`reset ${kafkaPlan.length} Kafka and ${pgPlan.length} PostgreSQL positions\n`);
  return 0;
}

/** `studystream offsets [--group G]` and `studystream offsets reset ...` (see help). */
const offsets: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    group: { type: 'string' },
    topic: { type: 'string' },
    'to-earliest': { type: 'boolean' },
    'to-latest': { type: 'boolean' },
    'to-timestamp': { type: 'string' },
    execute: { type: 'boolean' },
  });
  const [sub, ...extra] = positionals;
  if (extra.length > 0 || (sub !== undefined && sub !== 'reset')) throw new UsageError(help.trimEnd());
  if (sub === 'reset' && !values.group) throw new UsageError('offsets reset needs --group');
  const to = sub === 'reset' ? target(values) : undefined;
  const ctx = await openContext();
  try {
    if (sub === 'reset' && to)
      return await reset(ctx, values.group!, to, values.topic, values.execute ?? false);
    const rows = await lag(ctx, values.group);
    if (rows.length === 0) {
      if (values.group) throw new Error(`no positions for group ${values.group}`);
      process.stdout.write('no consumer positions\n');
      return 0;
    }
    process.stdout.write(
      table(
        ['GROUP', 'SOURCE', 'TOPIC', 'PARTITION', 'COMMITTED', 'HIGH', 'LAG'],
        rows.map((r) => [r.group, r.source, r.topic, r.partition, r.committed ?? '-', r.high, r.lag]),
      ),
    );
    const totals = new Map<string, number>();
    for (const r of rows)
      totals.set(`${r.group} (${r.source})`, (totals.get(`${r.group} (${r.source})`) ?? 0) + r.lag);
    for (const [g, total] of totals) process.stdout.write(`total lag ${g}: ${total}\n`);
    return 0;
  } finally {
    await ctx.close();
  }
};
export default offsets;
