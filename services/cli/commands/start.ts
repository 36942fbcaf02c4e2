import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { readFileSync } from 'node:fs';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { migrateAll } from './migrate.ts';
import { runStack } from './stack.ts';
import { demoHints } from '../../analytics-api/index.ts';
import { loadApiConfig } from '../../analytics-api/index.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { streamEnv } from '../../stream/index.ts';
import { jobsEnv } from '../../jobs/index.ts';
import { studentId } from '../../simulator/index.ts';
import { demoCohort } from './demo.ts';
import { dashboardHints, ensureWebBuilt } from '../../web/index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The long-running services `npm start` supervises, in start order. Each is a folder under services/. */
export const SERVICES: Array<{
  name: string;
  entry: string;
  url?: (cfg: ReturnType<typeof loadConfig>) => string;
}> = [
  { name: 'ingest', entry: 'services/ingest/main.ts', url: (c) => `http://${c.HTTP_HOST}:${c.INGEST_PORT}` },
  {
    name: 'stream',
    entry: 'services/stream/main.ts',
    url: (c) => `http://${c.HTTP_HOST}:${streamEnv.load().STREAM_PORT}`,
  },
  {
    name: 'analytics-api',
    entry: 'services/analytics-api/main.ts',
    url: (c) => `http://${c.HTTP_HOST}:${c.API_PORT}`,
  },
  {
    name: 'jobs',
    entry: 'services/jobs/main.ts',
    url: (c) => `http://${c.HTTP_HOST}:${jobsEnv.load().JOBS_PORT}`,
  },
];

/** Polls a service's /readyz until it answers 200 (or the deadline passes). */
async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

/** Optional steps that later parts of the engine plug in (schema registration, demo data). */
export type StartHook = { name: string; module: string };
export const START_HOOKS: StartHook[] = [
  { name: 'schemas', module: 'services/cli/commands/schemas.ts' },
  { name: 'demo', module: 'services/cli/commands/demo.ts' },
];

/** The instances `start --profile cluster` runs: each stream instance runs the three processors, so each
 * processor group has 3 members. */
export const CLUSTER_INSTANCES: Record<string, { variable: string; ports: number[] }> = {
  ingest: { variable: 'INGEST_PORT', ports: [18080, 18082] },
  stream: { variable: 'STREAM_PORT', ports: [18095, 18096, 18098] },
  'analytics-api': { variable: 'API_PORT', ports: [18090, 18092] },
  jobs: { variable: 'JOBS_PORT', ports: [18097] },
};

export const help = `usage: studystream start [--profile default|cluster]

Runs the whole engine locally: starts the native stack, applies the migrations, registers the schemas, starts
the services (${SERVICES.map((s) => s.name).join(', ')}) and the demo data, then prints their URLs. Logs are human-readable on a
terminal (pino-pretty) and JSON lines otherwise. Ctrl-C stops the services.
With --profile cluster: the cluster profile of the stack (deploy/cluster.sh), its configuration
(.stack/cluster/cluster.env) for everything, and the services in several instances: ${Object.entries(
  CLUSTER_INSTANCES,
)
  .map(([name, i]) => `${i.ports.length} ${name} (${i.variable} ${i.ports.join(', ')})`)
  .join(', ')}.
`;

/** KEY=value lines of a generated env file (the cluster profile's). */
export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const start: Command = async (args) => {
  const { values, positionals } = parseOptions(args, { profile: { type: 'string' } });
  const profile = values.profile ?? 'default';
  if (positionals.length > 0 || (profile !== 'default' && profile !== 'cluster')) {
    throw new UsageError(help.trimEnd());
  }
  const cluster = profile === 'cluster';
  const log = createLogger('start');
  const stackCode = runStack(cluster ? ['up', '--profile', 'cluster'] : ['up']);
  if (stackCode !== 0) throw new Error('the local stack did not come up (see `npm run stack -- status`)');
  if (cluster) {
    Object.assign(
      process.env,
      readEnvFile(`${process.env.CLUSTER_DIR ?? `${ROOT}.stack/cluster`}/cluster.env`),
    );
  }
  const cfg = loadConfig();
  await migrateAll(log);

  const children: ChildProcess[] = [];
  const stopAll = () => {
    for (const child of children) child.kill('SIGTERM');
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);

  for (const hook of START_HOOKS) {
    if (!existsSync(`${ROOT}${hook.module}`)) continue;
    const mod = (await import(`${ROOT}${hook.module}`)) as { onStart?: (log: unknown) => Promise<void> };
    await mod.onStart?.(log);
  }

  // The web dashboard the API serves (built when its sources changed); development mode for its demo sign-in.
  await ensureWebBuilt().catch((err: unknown) =>
    log.warn({ err: (err as Error).message }, 'dashboard not built'),
  );
  // (Never in production or with an identity provider: the API refuses to start in dev mode there.)
  const devDefault = process.env.NODE_ENV === 'production' || process.env.JWT_JWKS_URL ? '0' : '1';
  // STUDYSTREAM_DEV_MODE lets the API and ingest fall back to the public development secrets when JWT_SECRET /
  // INGEST_IP_SALT are unset (every other start refuses without them); said on the console below.
  const env = {
    ...process.env,
    API_DEV_MODE: process.env.API_DEV_MODE ?? devDefault,
    STUDYSTREAM_DEV_MODE:
      process.env.STUDYSTREAM_DEV_MODE ?? (process.env.NODE_ENV === 'production' ? '0' : '1'),
  };
  const devMode = env.STUDYSTREAM_DEV_MODE === '1' || env.STUDYSTREAM_DEV_MODE === 'true';
  if (devMode) {
    log.warn(
      'development mode (STUDYSTREAM_DEV_MODE=1): services started without JWT_SECRET / INGEST_IP_SALT use public development secrets; never expose them',
    );
  }
  const started: Array<{ name: string; url: string | undefined }> = [];
  for (const service of SERVICES) {
    if (!existsSync(`${ROOT}${service.entry}`)) continue;
    // The default profile: one instance on the configured port; the cluster profile: CLUSTER_INSTANCES.
    const instances = cluster
      ? CLUSTER_INSTANCES[service.name]!.ports.map((port, i) => ({
          name: `${service.name}-${i + 1}`,
          env: { ...env, [CLUSTER_INSTANCES[service.name]!.variable]: String(port) },
          url: `http://${cfg.HTTP_HOST}:${port}`,
        }))
      : [{ name: service.name, env, url: service.url?.(cfg) }];
    for (const instance of instances) {
      const child = spawn(process.execPath, [`${ROOT}${service.entry}`], {
        stdio: 'inherit',
        env: instance.env,
      });
      child.on('exit', (code, signal) => log.warn({ child: instance.name, code, signal }, 'service exited'));
      children.push(child);
      started.push({ name: instance.name, url: instance.url });
      log.info({ child: instance.name, url: instance.url }, 'service started');
    }
  }
  if (children.length === 0) log.warn('no services exist yet; the stack is up and migrated');

  const urls: string[] = [];
  for (const { name, url } of started) {
    if (!url) continue;
    const ready = await waitReady(url, 120_000);
    urls.push(`  ${name.padEnd(16)} ${url}  ${ready ? 'ready' : 'NOT READY (see the logs above)'}`);
  }
  const api = loadApiConfig(env);
  // The demo student is the simulator's first student: known before the processors have caught up.
  const demoUser = api.API_DEMO_USER || studentId(demoCohort().seed, 0);
  const pool = createPgPool(cfg);
  const hints = await demoHints({ ...api, API_DEMO_USER: demoUser }, pool).finally(() => pool.end());
  process.stdout.write(
    [
      '',
      'studystream is running (Ctrl-C stops the services; `npm run stack -- down` stops the stack):',
      ...(devMode
        ? [
            '  DEVELOPMENT MODE (STUDYSTREAM_DEV_MODE=1): unset JWT_SECRET / INGEST_IP_SALT fall back to public development secrets',
            '  (`STUDYSTREAM_DEV_MODE=1 bin/studystream token ...` mints tokens for it; never use this mode outside a development machine)',
          ]
        : []),
      ...urls,
      `  ingest API keys: bin/studystream apikey create --name my-app   (docs: ${cfg.HTTP_HOST}:${cfg.INGEST_PORT}/openapi.json)`,
      ...hints,
      ...(await dashboardHints(
        { ...api, API_DEV_MODE: env.API_DEV_MODE === '1' || env.API_DEV_MODE === 'true' },
        demoUser,
      )),
      '',
    ].join('\n'),
  );
  await Promise.all(children.map((c) => new Promise((resolve) => c.on('exit', resolve))));
};
export default start;
