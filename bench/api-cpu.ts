import { loadConfig } from '../services/shared/config.ts';
import { createClickHouse, createClickHouseReader } from '../services/shared/clickhouse.ts';
import { createLogger } from '../services/shared/logger.ts';
import { Registry } from '../services/shared/metrics.ts';
import { createPgPool } from '../services/shared/postgres.ts';
import { createApiApp } from '../services/analytics-api/app.ts';
import { MemoryAuditLog } from '../services/analytics-api/audit.ts';
import { createVerifier, signToken } from '../services/analytics-api/auth.ts';
import { apiEnv } from '../services/analytics-api/config.ts';
import { withServerChecks } from '../services/analytics-api/server-checks.ts';
import { parseOptions, positiveIntOption, UsageError, type Command } from '../services/cli/command.ts';

/**
 * `studystream bench api-cpu --reuse NAMESPACE [--path /api/analytics/knowledge-gaps] [--requests 1000]
 *   [--students 200] [--concurrency 4] [--server-checks]`: API CPU time per request, measured IN-PROCESS with process.cpuUsage() around
 * a loop of uncached requests (the app of services/analytics-api/app.ts on the namespace's PostgreSQL and
 * ClickHouse, no Redis cache, audit in memory), after a warm-up of one request per student. CPU time of this process
 * is what the API spends per request whatever else loads the machine (unlike latency), so it compares code changes
 * on a shared host. `--server-checks`: the verifier wrapped as main.ts wraps it (token revocations and educator
 * assignments from PostgreSQL, cached for API_SERVER_CHECKS_CACHE_MS); without it, the signature alone; the number
 * of PostgreSQL queries the server checks sent in the measured loop is printed. Run `node --cpu-prof` on services/cli/main.ts for a profile of the same loop.
 */

const HELP =
  'usage: studystream bench api-cpu --reuse NAMESPACE [--path P] [--requests 1000] [--students 200] [--concurrency 4] [--server-checks]\n';

const apiCpu: Command = async (args) => {
  const { values } = parseOptions(args, {
    reuse: { type: 'string' },
    path: { type: 'string' },
    requests: { type: 'string' },
    students: { type: 'string' },
    concurrency: { type: 'string' },
    'server-checks': { type: 'boolean' },
  });
  const ns = values.reuse;
  if (!ns) throw new UsageError(HELP);
  const path = values.path ?? '/api/analytics/knowledge-gaps';
  const requests = positiveIntOption(values.requests, 'requests', 1000);
  const students = positiveIntOption(values.students, 'students', 200);
  const concurrency = positiveIntOption(values.concurrency, 'concurrency', 4);
  const cfg = loadConfig({
    ...process.env,
    LOG_LEVEL: 'warn',
    CLICKHOUSE_DATABASE: `test_${ns}`,
    PG_SCHEMA: `test_${ns}`,
  });
  const pg = createPgPool(cfg);
  const ch = createClickHouse(cfg);
  const chRows = createClickHouseReader(cfg);
  const secret = 'bench-api-cpu-secret-bench-api-cpu-secret';
  const verifier = createVerifier({ secret, issuer: 'studystream', audience: 'studystream-api' });
  let checkQueries = 0;
  const counted = new Proxy(pg, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
      return (...args: unknown[]) => {
        checkQueries++;
        return (target.query as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const checksMs = apiEnv.load(process.env).API_SERVER_CHECKS_CACHE_MS;
  const app = createApiApp({
    pg,
    ch,
    chRows,
    redis: null,
    log: createLogger('bench', 'warn'),
    registry: new Registry(),
    audit: new MemoryAuditLog(),
    verify: values['server-checks'] ? withServerChecks(verifier, counted, { cacheMs: checksMs }) : verifier,
    cacheTtlSec: 0,
    cacheTimeoutMs: 50,
    kAnonymity: 10,
  });
  try {
    const { rows } = await pg.query<{ user_id: string }>(
      'SELECT DISTINCT user_id FROM topic_mastery ORDER BY user_id LIMIT $1',
      [students],
    );
    const tokens = await Promise.all(
      rows.map((r) =>
        signToken(
          { sub: r.user_id, role: 'student' },
          { secret, ttlSec: 3600, issuer: 'studystream', audience: 'studystream-api' },
        ),
      ),
    );
    let failures = 0;
    const one = async (i: number) => {
      const res = await app.request(path, {
        headers: { Authorization: `Bearer ${tokens[i % tokens.length]}` },
      });
      await res.arrayBuffer();
      if (res.status !== 200) failures++;
    };
    const loop = async (n: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) await one(next++);
        }),
      );
    };
    await loop(tokens.length);
    const queries0 = checkQueries;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await loop(requests);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const round2 = (x: number) => Math.round(x * 100) / 100;
    process.stdout.write(
      `${path}: ${requests} requests over ${tokens.length} students, concurrency ${concurrency}, ${failures} not 200; ` +
        `CPU per request ${round2((cpu.user + cpu.system) / 1000 / requests)} ms ` +
        `(user ${round2(cpu.user / 1000 / requests)}, system ${round2(cpu.system / 1000 / requests)}); ` +
        `wall ${round2(wall / requests)} ms per request` +
        (values['server-checks']
          ? `; server checks (API_SERVER_CHECKS_CACHE_MS ${checksMs}): ${checkQueries - queries0} PostgreSQL queries`
          : '') +
        '\n',
    );
  } finally {
    chRows.close();
    await ch.close();
    await pg.end();
  }
};
export default apiCpu;
