/** Connections and names shared by the data tools (offsets, import, dlq, replay, rebuild). */
import type { Admin } from 'kafkajs';
import { loadConfig, type SharedConfig } from '../shared/config.ts';
import { createKafka, EVENT_FAMILIES, topicNames, type Kafka } from '../shared/kafka.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { createPgPool, type Pool } from '../shared/postgres.ts';
import { createRedis, redisReady, type Redis } from '../shared/redis.ts';
import { masteryEnv } from '../stream/index.ts';
import { sessionsEnv } from '../stream/index.ts';
import { sinkEnv } from '../stream/index.ts';

export type ToolContext = {
  env: NodeJS.ProcessEnv;
  cfg: SharedConfig;
  log: Logger;
  kafka: Kafka;
  admin: Admin;
  eventTopics: string[];
  deadLetterTopic: string;
  /** Live consumer groups of the three processors (as the processors name them). */
  groups: { sink: string; mastery: string; sessions: string };
  pool(): Pool;
  redis(): Promise<Redis>;
  close(): Promise<void>;
};

export function liveGroups(cfg: SharedConfig, env: NodeJS.ProcessEnv = process.env) {
  return {
    sink: sinkEnv.load(env).SINK_GROUP_ID,
    mastery: `${cfg.KAFKA_TOPIC_PREFIX}${masteryEnv.load(env).MASTERY_GROUP_ID}`,
    sessions: `${cfg.KAFKA_TOPIC_PREFIX}${sessionsEnv.load(env).SESSIONS_GROUP_ID}`,
  };
}

export async function openContext(
  env: NodeJS.ProcessEnv = process.env,
  name = 'datatools',
): Promise<ToolContext> {
  const cfg = loadConfig(env);
  const log = createLogger(name, env.LOG_LEVEL ?? 'warn');
  const kafka = createKafka(cfg, log, name);
  const admin = kafka.admin();
  await admin.connect();
  const names = topicNames(cfg);
  const existing = new Set(await admin.listTopics());
  const missing = [...EVENT_FAMILIES.map((f) => names[f]), names.deadLetter].filter((t) => !existing.has(t));
  if (missing.length > 0) {
    await admin.disconnect();
    throw new Error(`topics missing: ${missing.join(', ')} (run \`studystream migrate\` first)`);
  }
  let pool: Pool | undefined;
  let redis: Redis | undefined;
  return {
    env,
    cfg,
    log,
    kafka,
    admin,
    eventTopics: EVENT_FAMILIES.map((f) => names[f]),
    deadLetterTopic: names.deadLetter,
    groups: liveGroups(cfg, env),
    pool() {
      pool ??= createPgPool(cfg);
      return pool;
    },
    async redis() {
      if (!redis) {
        redis = createRedis(cfg);
        await redisReady(redis);
      }
      return redis;
    },
    async close() {
      await admin.disconnect().catch(() => undefined);
      if (pool) await pool.end().catch(() => undefined);
      if (redis) redis.disconnect();
    },
  };
}

/** Parses an ISO-8601 timestamp (with zone) or epoch ms; undefined when it is neither. */
export function parseInstant(text: string): number | undefined {
  if (/^\d{10,}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(text)) return undefined;
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Renders rows as an aligned text table. */
export function table(
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (c ?? '').padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
