import { subjectKeysFor } from '../../shared/subjects.ts';
import { EventCodec } from '../../shared/codec.ts';
import { createRegistry } from '../../shared/registry.ts';
import { IdempotentProducer } from '../../shared/idempotent-producer.ts';
import { openContext, table, type ToolContext } from '../../datatools/index.ts';
import {
  decodeValue,
  fetchDeadLetters,
  idOf,
  listDeadLetters,
  parseId,
  redriveMessage,
  redriveOne,
  redriveRefusal,
  redrivenIds,
  type DeadLetter,
} from '../../datatools/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const subcommands = {
  list: 'usage: studystream dlq list [--limit N] [--from-offset O]\n\nDead letters (id = partition:offset), oldest first; --limit defaults to 100.\n',
  show: 'usage: studystream dlq show <partition>:<offset>\n\nOne dead letter: headers, source, value decoded if possible.\n',
  redrive:
    "usage: studystream dlq redrive (--ids P:O,... | --all) [--execute]\n\nRe-publishes the original bytes to the source topic once the cause is fixed; dry run unless --execute; a dead\nletter already re-driven is skipped (recorded in PostgreSQL dlq_redrives). Only to an event topic, and only a value\nthat decodes with that topic's schema and passes ingest's validation; others are refused.\n",
};

export const help = `usage:
  studystream dlq list [--limit N] [--from-offset O]     dead letters (id = partition:offset), oldest first
  studystream dlq show <partition>:<offset>              one dead letter: headers, source, value decoded if possible
  studystream dlq redrive (--ids P:O,... | --all) [--execute]
      re-publish the original bytes to the source topic once the cause is fixed; dry run by default; a dead
      letter already re-driven is skipped (recorded in PostgreSQL dlq_redrives). Only to an event topic, and only a
      value that decodes with that topic's schema and passes ingest's validation; others are refused
`;

const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const source = (d: DeadLetter) =>
  d.source ? `${d.source.topic}/${d.source.partition}:${d.source.offset}` : '-';

async function list(
  ctx: ToolContext,
  limit: number | undefined,
  fromOffset: number | undefined,
): Promise<number> {
  const letters = await listDeadLetters(ctx.kafka, ctx.deadLetterTopic, { limit, fromOffset });
  const redriven = await redrivenIds(ctx.pool(), ctx.deadLetterTopic, letters.map(idOf)).catch(
    () => new Set<string>(),
  );
  process.stdout.write(
    table(
      ['ID', 'FAILED_AT', 'PROCESSOR', 'REASON', 'SOURCE', 'REDRIVEN', 'ERROR'],
      letters.map((d) => [
        idOf(d),
        d.failedAt,
        d.processor,
        d.reason,
        source(d),
        redriven.has(idOf(d)) ? 'yes' : 'no',
        short(d.error.replace(/\s+/g, ' '), 80),
      ]),
    ),
  );
  process.stdout.write(`${letters.length} dead letter(s)\n`);
  return 0;
}

async function show(ctx: ToolContext, idText: string): Promise<number> {
  const id = parseId(idText);
  const [d] = await fetchDeadLetters(ctx.kafka, ctx.deadLetterTopic, [id]);
  if (!d) throw new Error(`no dead letter ${idText} in ${ctx.deadLetterTopic}`);
  const codec = new EventCodec(createRegistry(ctx.cfg), ctx.cfg, subjectKeysFor(ctx.cfg));
  const redriven = await redrivenIds(ctx.pool(), ctx.deadLetterTopic, [idOf(d)]).catch(
    () => new Set<string>(),
  );
  const out = {
    id: idOf(d),
    timestamp: new Date(d.timestamp).toISOString(),
    source: d.source,
    processor: d.processor,
    reason: d.reason,
    error: d.error,
    failed_at: d.failedAt,
    redriven: redriven.has(idOf(d)),
    key: d.key?.toString('utf8') ?? null,
    headers: d.headers,
    value: await decodeValue(codec, d),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
}

async function redrive(
  ctx: ToolContext,
  ids: string | undefined,
  all: boolean,
  execute: boolean,
): Promise<number> {
  if (!ids === !all) throw new UsageError('dlq redrive needs exactly one of --ids P:O,... or --all');
  let letters: DeadLetter[];
  let missing: string[] = [];
  if (all) letters = await listDeadLetters(ctx.kafka, ctx.deadLetterTopic);
  else {
    let wanted: Array<{ partition: number; offset: number }>;
    try {
      wanted = ids!.split(',').map(parseId);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    letters = await fetchDeadLetters(ctx.kafka, ctx.deadLetterTopic, wanted);
    const found = new Set(letters.map(idOf));
    missing = wanted.map(idOf).filter((i) => !found.has(i));
  }
  const done = await redrivenIds(ctx.pool(), ctx.deadLetterTopic, letters.map(idOf));
  const rows: Array<Array<string>> = [];
  let redriven = 0;
  let skipped = 0;
  let refused = 0;
  const codec = new EventCodec(createRegistry(ctx.cfg), ctx.cfg, subjectKeysFor(ctx.cfg));
  const producer = execute
    ? new IdempotentProducer(ctx.kafka, { allowAutoTopicCreation: false }, { log: ctx.log })
    : undefined;
  if (producer) await producer.connect();
  try {
    for (const d of letters) {
      if (done.has(idOf(d))) {
        skipped++;
        rows.push([idOf(d), source(d), 'skip: already re-driven']);
        continue;
      }
      if (!d.source) {
        rows.push([idOf(d), '-', 'skip: no source headers']);
        continue;
      }
      const refusal = await redriveRefusal(codec, d);
      if (refusal) {
        refused++;
        rows.push([idOf(d), source(d), `refused: ${refusal}`]);
        continue;
      }
      if (!producer) {
        rows.push([
          idOf(d),
          source(d),
          `would re-publish ${redriveMessage(ctx.deadLetterTopic, d).value?.length ?? 0} bytes`,
        ]);
        continue;
      }
      const outcome = await redriveOne(ctx.pool(), producer, codec, ctx.deadLetterTopic, d);
      if (outcome.status === 'redriven') redriven++;
      else skipped++;
      rows.push([
        idOf(d),
        source(d),
        outcome.status === 'redriven' ? `re-driven to ${outcome.target}` : `skip: ${outcome.status}`,
      ]);
    }
  } finally {
    if (producer) await producer.disconnect();
  }
  process.stdout.write(table(['ID', 'SOURCE', 'ACTION'], rows));
  for (const m of missing) process.stdout.write(`${m}: no such dead letter\n`);
  process.stdout.write(
    (execute
      ? `re-driven ${redriven}, skipped ${skipped}`
      : `dry run: ${letters.length - skipped - refused} would be re-driven, ${skipped} already were; add --execute`) +
      (refused > 0 ? `, refused ${refused} (see ACTION)\n` : '\n'),
  );
  if (missing.length > 0) {
    process.stderr.write(`studystream: ${missing.length} id(s) not found\n`);
    return 1;
  }
  return 0;
}

/** `studystream dlq list|show|redrive` (see help). */
const dlq: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    limit: { type: 'string' },
    'from-offset': { type: 'string' },
    ids: { type: 'string' },
    all: { type: 'boolean' },
    execute: { type: 'boolean' },
  });
  const [sub, ...rest] = positionals;
  const int = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer`);
    return Number(v);
  };
  if (sub !== 'list' && sub !== 'show' && sub !== 'redrive') throw new UsageError(help.trimEnd());
  if (sub === 'show' && rest.length !== 1)
    throw new UsageError('usage: studystream dlq show <partition>:<offset>');
  if (sub === 'show' && !/^\d+:\d+$/.test(rest[0]!)) throw new UsageError('the id is <partition>:<offset>');
  if (sub !== 'show' && rest.length > 0) throw new UsageError(help.trimEnd());
  const limit = int(values.limit, 'limit');
  const from = int(values['from-offset'], 'from-offset');
  const ctx = await openContext();
  try {
    if (sub === 'list') return await list(ctx, limit ?? 100, from);
    if (sub === 'show') return await show(ctx, rest[0]!);
    return await redrive(ctx, values.ids, values.all ?? false, values.execute ?? false);
  } finally {
    await ctx.close();
  }
};
export default dlq;
