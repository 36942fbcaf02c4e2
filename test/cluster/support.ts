/**
 * Support of the fault-injection tests of the cluster profile (`npm run test:cluster`, deploy/test-cluster.sh):
 * the nodes of deploy/cluster.sh are killed and restarted through the same script, the services run as child
 * processes in several instances (2 ingest, 3 stream processes = 3 members of each processor group), and every
 * acknowledged event is reconciled end to end (topics → ClickHouse → sessions and mastery).
 */
import { afterAll, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { registerAll } from '../../services/cli/commands/schemas.ts';
import { reconcile, type Reconciliation } from '../../services/datatools/reconcile.ts';
import { openContext } from '../../services/datatools/context.ts';
import { createApiKey } from '../../services/ingest/apikeys.ts';
import { chQuery, createClickHouse } from '../../services/shared/clickhouse.ts';
import { createKafka, EVENT_FAMILIES, topicNames } from '../../services/shared/kafka.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { createPgPool } from '../../services/shared/postgres.ts';
import { ident, sql } from '../../services/shared/sql.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../support/isolated.ts';
import { freePort, stopServices, waitReady, type StartedService } from '../support/process.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

if (process.env.STUDYSTREAM_PROFILE !== 'cluster') {
  throw new Error(
    'the cluster tests run against the cluster profile: npm run test:cluster (deploy/test-cluster.sh)',
  );
}

/** Runs `bash deploy/stack.sh <cmd> --profile cluster <nodes>`; resolves with its exit code and output. */
export function stack(cmd: string, ...nodes: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [`${ROOT}deploy/stack.sh`, cmd, '--profile', 'cluster', ...nodes], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

export type Cluster = {
  iso: IsolatedEnv;
  apiKey: string;
  ingest: StartedService[];
  streams: StartedService[];
  /** Variables set on every stream instance of this cluster on top of streamEnv's (useCluster's `stream`). */
  streamOverrides: NodeJS.ProcessEnv;
};

/**
 * The log level of the stream instances the tests start (logs in .stack/cluster/test-logs/): info, so that a failed
 * run shows each instance's rebalances, dropped batches and starts, not only its warnings.
 */
const STREAM_LOG_LEVEL = process.env.CLUSTER_LOG_LEVEL ?? 'info';

/** The ClickHouse sink's consumer group of a namespace (SINK_GROUP_ID of its stream instances). */
export const sinkGroupOf = (iso: IsolatedEnv): string => `${iso.id}-sink`;

/** Env of one stream instance: every processor, sessions written as soon as due, small batches. */
export function streamEnv(
  iso: IsolatedEnv,
  port: number,
  overrides: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...iso.env,
    STREAM_PORT: String(port),
    SINK_GROUP_ID: sinkGroupOf(iso),
    SESSIONS_CLOSE_QUIET_MS: '0',
    STREAM_BATCH_MAX_WAIT_MS: '300',
    LOG_LEVEL: STREAM_LOG_LEVEL,
    ...overrides,
  };
}

export async function startStream(
  iso: IsolatedEnv,
  name: string,
  overrides: NodeJS.ProcessEnv = {},
): Promise<StartedService> {
  const port = await freePort();
  return startLogged(
    iso,
    name,
    `${ROOT}services/stream/main.ts`,
    streamEnv(iso, port, overrides),
    `http://127.0.0.1:${port}`,
  );
}

/**
 * `node <entry>` with its log lines (stdout and stderr) in .stack/cluster/test-logs/<namespace>-<name>.log, ready
 * once `<url>/readyz` answers 200.
 */
export async function startLogged(
  iso: IsolatedEnv,
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  url: string,
): Promise<StartedService> {
  const file = testLogFile(iso, name);
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', fd, fd] });
  const svc = { name, url, child, stderr: () => `(see ${file})` };
  await waitReady(url, child, { attempts: 240, name }).catch((err: Error) => {
    child.kill('SIGTERM');
    throw new Error(`${err.message} (log: ${file})`);
  });
  return svc;
}

function testLogFile(iso: IsolatedEnv, name: string): string {
  return `${ROOT}.stack/cluster/test-logs/${iso.id}-${name}.log`;
}

/**
 * The log records of the instances with message `msg`, counted by their `err` field (or '' without one): what a
 * failed assertion prints beside itself, since CI keeps only the test's output.
 */
export function logMessages(
  iso: IsolatedEnv,
  services: StartedService[],
  msg: string,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of services) {
    let text: string;
    try {
      text = readFileSync(testLogFile(iso, s.name), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes(msg)) continue;
      let rec: { msg?: unknown; err?: unknown };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        continue;
      }
      if (rec.msg !== msg) continue;
      const err =
        typeof rec.err === 'string' ? rec.err : rec.err ? JSON.stringify(rec.err).slice(0, 200) : '';
      counts[err] = (counts[err] ?? 0) + 1;
    }
  }
  return counts;
}

/**
 * Starts every service at once; if one fails to become ready, stops those that did (no process left behind) and
 * rejects with the first failure.
 */
export async function startAll(starts: Array<() => Promise<StartedService>>): Promise<StartedService[]> {
  const settled = await Promise.allSettled(starts.map((start) => start()));
  const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    await stopServices(started);
    throw failed.reason;
  }
  return started;
}

/** An isolated namespace on the cluster with 2 ingest instances and 3 stream instances running. */
export async function startCluster(label: string, streamOverrides: NodeJS.ProcessEnv = {}): Promise<Cluster> {
  const iso = isolatedEnv(label);
  await provision(iso);
  const log = createLogger('test', 'warn');
  await registerAll(iso.cfg, log);
  const pool = createPgPool(iso.cfg);
  const { key } = await createApiKey(pool, `cluster test ${label}`).finally(() => pool.end());
  const startIngest = async (i: number) => {
    const port = await freePort();
    return startLogged(
      iso,
      `ingest-${i}`,
      `${ROOT}services/ingest/main.ts`,
      {
        ...iso.env,
        INGEST_PORT: String(port),
        INGEST_RATE_LIMIT_PER_SEC: '100000',
        LOG_LEVEL: 'warn', // info would log every request
        LOG_FORMAT: 'json',
      },
      `http://127.0.0.1:${port}`,
    );
  };
  // The five processes start together (each spends most of its start-up loading modules and connecting): one after
  // the other took five start-up times per test.
  const started = await startAll([
    ...[1, 2].map((i) => () => startIngest(i)),
    ...[1, 2, 3].map((i) => () => startStream(iso, `stream-${i}`, streamOverrides)),
  ]);
  const ingest = started.slice(0, 2);
  const streams = started.slice(2);
  return { iso, apiKey: key, ingest, streams, streamOverrides };
}

/**
 * The lifecycle of one fault test's cluster namespace: call in the describe block; the returned function starts the
 * namespace (startCluster) inside the test, and after the tests every ingest and stream instance still in the
 * Cluster's lists is stopped and the namespace torn down (kept with CLUSTER_KEEP_NAMESPACE=1, for a post-mortem).
 * `opts.stream`: variables set on every stream instance on top of streamEnv's.
 */
export function useCluster(label: string, opts: { stream?: NodeJS.ProcessEnv } = {}): () => Promise<Cluster> {
  let c: Cluster | undefined;
  afterAll(async () => {
    if (!c) return;
    await stopServices([...c.ingest, ...c.streams]);
    if (process.env.CLUSTER_KEEP_NAMESPACE === '1') return void console.log(`namespace kept: ${c.iso.id}`);
    await teardown(c.iso).catch(() => {});
  });
  return async () => (c = await startCluster(label, opts.stream));
}

/** Students of the test client; event i belongs to student i % CLUSTER_STUDENTS. */
export const CLUSTER_STUDENTS = 24;
/** Events per session: each student's session changes every CLUSTER_STUDENTS * SESSION_EVENTS events. */
export const SESSION_EVENTS = 20;

/**
 * Event i of the test client: a question attempt (3 in 4) or study event of one of `students` students. Each
 * student's session holds SESSION_EVENTS events, the last of them a SESSION_END (so the session is due once the
 * processor's grace has passed, and written to study_sessions).
 */
export function clusterEvent(i: number, students = CLUSTER_STUDENTS): Record<string, unknown> {
  const user = `stu_cl_${String(i % students).padStart(3, '0')}`;
  const session = `sess-${user}-${Math.floor(i / (students * SESSION_EVENTS))}`;
  const occurred = Date.now() - 500;
  if (Math.floor(i / students) % SESSION_EVENTS === SESSION_EVENTS - 1) {
    return {
      family: 'study-events',
      event_id: randomUUID(),
      user_id: user,
      occurred_at: occurred,
      event_type: 'SESSION_END',
      session_id: session,
      topic_ids: ['cardio.hf'],
      duration_ms: 60_000,
      end_reason: 'USER',
      client: { platform: 'WEB', app_version: '3.2.1' },
    };
  }
  if (i % 4 === 0) {
    return {
      family: 'study-events',
      event_id: randomUUID(),
      user_id: user,
      occurred_at: occurred,
      event_type: 'SESSION_RESUME',
      session_id: session,
      topic_ids: ['cardio.hf'],
      client: { platform: 'WEB', app_version: '3.2.1' },
    };
  }
  return {
    family: 'question-attempts',
    event_id: randomUUID(),
    user_id: user,
    occurred_at: occurred,
    session_id: session,
    question_id: `q-${i % 97}`,
    // Leaf topics of the curriculum taxonomy (mastery applies attempts on leaves only).
    topic_ids: [i % 2 === 0 ? 'cardio.anat.heart-anatomy' : 'cardio.micro.infective-endocarditis'],
    selected_answer: 'C',
    is_correct: i % 3 !== 0,
    attempt_number: 1,
    time_to_answer_ms: 20_000 + (i % 7) * 1000,
    confidence: 3,
    difficulty: 0.5,
    exam_section: 'step1',
    mode: 'TUTOR',
    client: { platform: 'IOS', app_version: '3.2.1' },
  };
}

/** One event of the client: its 503s (or network errors) as [sent, answered] times, and when it was acknowledged. */
export type Delivery = {
  eventId: string;
  family: string;
  /** `<user_id>:<session_id>` of the event. */
  session: string;
  /** When the client first sent it. */
  sentAt: number;
  attempts: number;
  unavailable: Array<{ sentAt: number; answeredAt: number; reason: string }>;
  ackedAt: number;
};

/**
 * A client at a fixed rate: event i is sent at start + i / rate to ingest instance i % n, and re-sent with the
 * same event_id after each 503 (or network error) until it is acknowledged (202 accepted, 200 duplicate). It sends
 * for `durationMs`, then on while `more()` (if given) returns true; then it ends every session it opened that has
 * no SESSION_END yet (the SESSION_ENDs of the current round of sessions, at the same rate), so every session of
 * the run is complete.
 */
export async function sendAtFixedRate(
  c: Cluster,
  opts: { rate: number; durationMs: number; onTick?: (elapsedMs: number) => void; more?: () => boolean },
): Promise<{ deliveries: Delivery[]; other: Array<{ status: number; body: string }> }> {
  const total = Math.round((opts.rate * opts.durationMs) / 1000);
  const start = Date.now();
  const deliveries: Delivery[] = [];
  const other: Array<{ status: number; body: string }> = [];
  const sends: Array<Promise<void>> = [];
  let slot = 0;
  const send = async (i: number) => {
    const due = start + (slot++ * 1000) / opts.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    opts.onTick?.(Date.now() - start);
    const event = clusterEvent(i);
    const d: Delivery = {
      eventId: event.event_id as string,
      family: event.family as string,
      session: `${event.user_id as string}:${event.session_id as string}`,
      sentAt: Date.now(),
      attempts: 0,
      unavailable: [],
      ackedAt: 0,
    };
    deliveries.push(d);
    sends.push(
      (async () => {
        for (let attempt = 0; d.ackedAt === 0; attempt++) {
          const target = c.ingest[(i + attempt) % c.ingest.length]!;
          d.attempts++;
          const sentAt = Date.now();
          let netError = '';
          const res = await fetch(`${target.url}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': c.apiKey },
            body: JSON.stringify(event),
            signal: AbortSignal.timeout(15_000),
          }).catch((err: Error) => {
            netError = `${err.name}: ${err.message}`;
            return null;
          });
          if (res && (res.status === 202 || res.status === 200)) {
            d.ackedAt = Date.now();
            await res.arrayBuffer();
          } else if (res && res.status === 429) {
            // The key's rate limit (re-sends count too): wait as told and send again.
            await res.arrayBuffer();
            await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
          } else if (!res || res.status === 503) {
            const reason = res ? `503 ${(await res.text()).slice(0, 120)}` : netError;
            d.unavailable.push({ sentAt, answeredAt: Date.now(), reason });
            await new Promise((r) => setTimeout(r, 500));
          } else {
            other.push({ status: res.status, body: await res.text() });
            return;
          }
          if (attempt > 200) throw new Error(`event ${d.eventId} never acknowledged`);
        }
      })(),
    );
  };
  let n = 0;
  while (n < total || (opts.more?.() ?? false)) await send(n++);
  const span = CLUSTER_STUDENTS * SESSION_EVENTS;
  const end = Math.ceil(n / span) * span;
  for (let i = Math.max(n, end - CLUSTER_STUDENTS); i < end; i++) await send(i);
  await Promise.all(sends);
  return { deliveries, other };
}

/** Rows and distinct event ids per raw table of `ids` (through the Distributed tables, no FINAL). */
export async function rawCounts(
  iso: IsolatedEnv,
): Promise<{ rows: number; distinct: number; perTable: Record<string, number> }> {
  const ch = createClickHouse(iso.cfg);
  try {
    let rows = 0;
    let distinct = 0;
    const perTable: Record<string, number> = {};
    for (const table of ['study_events', 'question_attempts', 'material_interactions']) {
      const [r] = await chQuery<{ n: string; d: string }>(
        ch,
        `SELECT count() AS n, uniqExact(event_id) AS d FROM ${table}`,
      );
      rows += Number(r?.n ?? 0);
      distinct += Number(r?.d ?? 0);
      perTable[table] = Number(r?.n ?? 0);
    }
    return { rows, distinct, perTable };
  } finally {
    await ch.close();
  }
}

/** The acknowledged event ids that ClickHouse does not hold (through the Distributed tables). */
export async function missingInClickHouse(iso: IsolatedEnv, ids: string[]): Promise<string[]> {
  const ch = createClickHouse(iso.cfg);
  try {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 2000) {
      const chunk = ids.slice(i, i + 2000);
      for (const table of ['study_events', 'question_attempts']) {
        const rows = await chQuery<{ id: string }>(
          ch,
          sql`SELECT toString(event_id) AS id FROM ${ident(table)} WHERE has(${chunk}, toString(event_id))`
            .text,
        );
        for (const r of rows) found.add(r.id);
      }
    }
    return ids.filter((id) => !found.has(id));
  } finally {
    await ch.close();
  }
}

/** The partitions of the event topics where the sink group's committed offset is not the end: `topic-p: at/end`. */
async function sinkLag(iso: IsolatedEnv): Promise<string[]> {
  const admin = createKafka(iso.cfg, createLogger('test', 'warn'), 'test-admin').admin();
  await admin.connect();
  try {
    const names = topicNames(iso.cfg);
    const topics = EVENT_FAMILIES.map((f) => names[f]);
    const committed = await admin.fetchOffsets({ groupId: sinkGroupOf(iso), topics });
    const out: string[] = [];
    for (const t of committed) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      for (const p of ends) {
        const at = t.partitions.find((x) => x.partition === p.partition)?.offset ?? '?';
        if (at !== p.offset) out.push(`${t.topic}-${p.partition}: ${at}/${p.offset}`);
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** Polls until `check` is true; throws with `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `studystream reconcile` of the namespace (the live groups of the stream instances). */
export async function reconcileOf(c: Cluster): Promise<Reconciliation> {
  const env = streamEnv(c.iso, 0, c.streamOverrides);
  const ctx = await openContext(env, 'cluster-test');
  try {
    return await reconcile(ctx, { from: null, to: null });
  } finally {
    await ctx.close();
  }
}

/**
 * The end-to-end check of every fault test: ClickHouse holds each acknowledged event exactly once (through the
 * Distributed tables, no FINAL), then `reconcile` of sessions and mastery with that history is polled until ok
 * (the processors catch up) and asserted: no session missing or differing, every session event counted once,
 * mastery applied exactly what it should, nothing dead-lettered. Returns the raw counts and the reconciliation.
 */
export async function expectEndToEnd(
  c: Cluster,
  ids: string[],
  timeouts: { clickhouseMs?: number; reconcileMs?: number } = {},
): Promise<{ counts: Awaited<ReturnType<typeof rawCounts>>; reconciliation: Reconciliation }> {
  await until(
    'ClickHouse to hold every acknowledged event',
    async () => (await rawCounts(c.iso)).distinct >= ids.length,
    timeouts.clickhouseMs ?? 120_000,
  ).catch(async (err: Error) => {
    const missing = await missingInClickHouse(c.iso, ids).catch(() => []);
    const lag = await sinkLag(c.iso).catch((e: Error) => e.message);
    throw new Error(
      `${err.message}: ${missing.length} of ${ids.length} missing, e.g. ${missing.slice(0, 5).join(', ')}; ` +
        `sink group lag (committed/end) ${JSON.stringify(lag)}`,
    );
  });
  expect(await missingInClickHouse(c.iso, ids)).toEqual([]);
  const counts = await rawCounts(c.iso);
  expect(counts.distinct).toBe(ids.length);
  expect(counts.rows).toBe(ids.length);

  let last: unknown;
  await until(
    'sessions and mastery to reconcile',
    async () => {
      last = await reconcileOf(c).catch((err: Error) => err.stack);
      return typeof last === 'object' && (last as { ok: boolean }).ok;
    },
    timeouts.reconcileMs ?? 180_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last reconcile: ${JSON.stringify(last)}`.slice(0, 4000));
  });
  const r = await reconcileOf(c);
  console.log(JSON.stringify({ sessions: r.sessions, mastery: r.mastery, deadLetters: r.deadLetters }));
  expect(r.ok).toBe(true);
  expect(r.sessions.missing).toBe(0);
  expect(r.sessions.differing).toBe(0);
  expect(r.sessions.eventsInSessions).toBe(r.sessions.eventsInHistory);
  expect(r.mastery.applied).toBe(r.mastery.expected);
  expect(r.mastery.expected).toBeGreaterThan(0);
  expect(r.deadLetters).toEqual([]);
  return { counts, reconciliation: r };
}

/**
 * Every ingest and stream instance of the cluster still runs, except those in `killed` (a fault test's own
 * SIGKILLs): a process that died on its own during a fault is a defect even when its group's other members made
 * up for it.
 */
export function expectAlive(c: Cluster, killed: ReadonlySet<StartedService> = new Set()): void {
  const services = [...c.ingest, ...c.streams].filter((s) => !killed.has(s));
  expect(services.map((s) => [s.name, s.child.exitCode, s.child.signalCode])).toEqual(
    services.map((s) => [s.name, null, null]),
  );
}

/**
 * Makes each group rebalance twice: a member of this process joins it (subscribing to `topics`), holds its
 * assignment for `holdMs` without consuming or committing anything, and leaves. Resolves, after the leaves, with
 * how many partitions each extra member was given.
 */
export async function joinGroupsBriefly(
  iso: IsolatedEnv,
  groups: Array<{ groupId: string; topics: string[] }>,
  holdMs = 3_000,
): Promise<Array<{ groupId: string; partitions: number }>> {
  const kafka = createKafka(iso.cfg, createLogger('test', 'warn'), 'test-member');
  const members = groups.map((g) => ({
    ...g,
    consumer: kafka.consumer({ groupId: g.groupId, sessionTimeout: 30_000 }),
  }));
  try {
    return await Promise.all(
      members.map(async ({ groupId, topics, consumer }) => {
        const joined = new Promise<number>((resolve) =>
          consumer.on(consumer.events.GROUP_JOIN, (e) =>
            resolve(Object.values(e.payload.memberAssignment).reduce((n, ps) => n + ps.length, 0)),
          ),
        );
        await consumer.connect();
        for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
        const partitions = await joined;
        await new Promise((r) => setTimeout(r, holdMs));
        return { groupId, partitions };
      }),
    );
  } finally {
    await Promise.all(members.map((m) => m.consumer.disconnect().catch(() => {})));
  }
}

/** The acknowledged event ids of a client run, after asserting that every event sent was acknowledged. */
export function acknowledged(run: {
  deliveries: Delivery[];
  other: Array<{ status: number; body: string }>;
}) {
  const acked = run.deliveries.filter((d) => d.ackedAt > 0).map((d) => d.eventId);
  console.log(JSON.stringify({ sent: run.deliveries.length, acknowledged: acked.length }));
  expect(run.other).toEqual([]);
  expect(acked.length).toBe(run.deliveries.length);
  return acked;
}

const OFFSETS_TOPIC = '__consumer_offsets';
const OFFSETS_PARTITIONS = 50; // offsets.topic.num.partitions: Kafka's default, which the cluster profile keeps

/** Kafka's partition of a group in __consumer_offsets: Utils.abs(groupId.hashCode()) % partitions. */
function offsetsPartitionOf(groupId: string): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0;
  return (h & 0x7fffffff) % OFFSETS_PARTITIONS;
}

/** The consumer groups of the three processors of a namespace. */
export function processorGroups(iso: IsolatedEnv): string[] {
  const prefix = iso.cfg.KAFKA_TOPIC_PREFIX;
  return [sinkGroupOf(iso), `${prefix}studystream-mastery`, `${prefix}studystream-sessions`];
}

export type CoordinatorMove = { partition: number; from: number; to: number };

/**
 * Moves the group coordinator of each group: the coordinator is the leader of the group's __consumer_offsets
 * partition, which is reassigned to its two other replicas (so the leadership must move), and, once it has, back
 * to three replicas with the old leader last (so it does not take the leadership back).
 */
export async function moveCoordinators(iso: IsolatedEnv, groups: string[]): Promise<CoordinatorMove[]> {
  const admin = createKafka(iso.cfg, createLogger('test', 'warn'), 'test-admin').admin();
  await admin.connect();
  try {
    const partitions = [...new Set(groups.map(offsetsPartitionOf))];
    const current = async () => {
      const md = await admin.fetchTopicMetadata({ topics: [OFFSETS_TOPIC] });
      const byId = new Map(md.topics[0]!.partitions.map((p) => [p.partitionId, p]));
      return partitions.map((id) => byId.get(id)!);
    };
    const before = await current();
    const reassign = (replicas: (p: (typeof before)[number]) => number[]) =>
      admin.alterPartitionReassignments({
        topics: [
          {
            topic: OFFSETS_TOPIC,
            partitionAssignment: before.map((p) => ({ partition: p.partitionId, replicas: replicas(p) })),
          },
        ],
      });
    await reassign((p) => p.replicas.filter((r) => r !== p.leader));
    await until(
      'every moved coordinator to have a new leader',
      async () => (await current()).every((p, i) => p.leader >= 0 && p.leader !== before[i]!.leader),
      60_000,
    );
    const after = await current();
    await reassign((p) => [...p.replicas.filter((r) => r !== p.leader), p.leader]);
    return after.map((p, i) => ({ partition: p.partitionId, from: before[i]!.leader, to: p.leader }));
  } finally {
    await admin.disconnect();
  }
}
