import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registerAll } from '../../../services/cli/commands/schemas.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort, startService, stopServices, type StartedService } from '../../support/process.ts';
import { exposedMetricNames, promqlMetricNames } from '../../support/promql.ts';
import { until } from '../../support/wait.ts';

/**
 * Starts ingest, the stream service (all three processors), the analytics API and the jobs service on an isolated namespace,
 * scrapes their /metrics, and checks that every metric the alerting rules and the Grafana dashboards name is
 * exported. Then runs the native stack's optional Prometheus and Alertmanager (own STACK_DIR and ports) against
 * those services: every target is up, every rule loads, every dashboard query is valid PromQL.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// Prometheus' own series.
const NOT_FROM_THESE_SERVICES: Record<string, string> = {
  up: 'written by Prometheus for every target',
};

const rules = (
  parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  }
).groups.flatMap((g) => g.rules);
const panelQueries = readdirSync(join(ROOT, 'deploy/grafana'))
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) =>
    (
      JSON.parse(readFileSync(join(ROOT, 'deploy/grafana', f), 'utf8')) as {
        panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
      }
    ).panels.flatMap((p) => p.targets.map((t) => ({ where: `${f}: ${p.title}`, expr: t.expr }))),
  );

const iso = isolatedEnv('opsmetrics');
const services: StartedService[] = [];
const local = (port: number) => `http://127.0.0.1:${port}`;

beforeAll(async () => {
  await provision(iso);
  await registerAll(iso.cfg, createLogger('test', 'warn'));
  const env = { ...iso.env, LOG_LEVEL: 'warn' };
  const [ingest, stream, api, jobs] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const ingestEnv = { ...env, INGEST_PORT: String(ingest), INGEST_IP_SALT: 'ops-test' };
  services.push(await startService('ingest', 'services/ingest/main.ts', ingestEnv, local(ingest)));
  const streamEnv = {
    ...env,
    STREAM_PORT: String(stream),
    SINK_GROUP_ID: `sink-${iso.id}`,
    MASTERY_GROUP_ID: `mastery-${iso.id}`,
    SESSIONS_GROUP_ID: `sessions-${iso.id}`,
  };
  services.push(await startService('stream', 'services/stream/main.ts', streamEnv, local(stream)));
  const apiEnv = { ...env, API_PORT: String(api), JWT_SECRET: 'ops-metrics-secret-ops-metrics-secret' };
  services.push(await startService('analytics-api', 'services/analytics-api/main.ts', apiEnv, local(api)));
  const jobsEnv = { ...env, JOBS_PORT: String(jobs), ...apiEnv };
  services.push(
    await startService('jobs', 'services/jobs/main.ts', { ...jobsEnv, JOBS_PORT: String(jobs) }, local(jobs)),
  );
});

afterAll(async () => {
  await stopServices(services);
  await teardown(iso);
});

describe('metrics named by the alerts and dashboards exist in the running services', () => {
  it('the services start without a Node warning (kafkajs timer, partitioner notice: silenced at their source)', () => {
    for (const s of services) expect(s.stderr(), s.name).not.toMatch(/\(node:\d+\) \w*Warning|Partitioner/);
  });

  it('every metric of deploy/prometheus/alerts.yml and deploy/grafana/*.json is exported', async () => {
    const exported = new Set<string>();
    const scrapeAll = async () => {
      for (const s of services) {
        const res = await fetch(`${s.url}/metrics`, {
          headers: { authorization: `Bearer ${iso.env.OPS_TOKEN}` },
        });
        expect(res.status, s.name).toBe(200);
        for (const n of exposedMetricNames(await res.text())) exported.add(n);
      }
    };
    // The processors' labelled series appear once their consumer groups have joined and run a cycle, which on a
    // loaded machine can take longer than the services' readiness.
    await until(
      'the stream service exports its labelled processor series',
      async () => {
        await scrapeAll();
        return exported.has('stream_freshness_seconds_bucket');
      },
      90_000,
      1_000,
    );
    const missing: string[] = [];
    const uses = [...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })), ...panelQueries];
    for (const { where, expr } of uses)
      for (const name of promqlMetricNames(expr))
        if (!exported.has(name) && !(name in NOT_FROM_THESE_SERVICES)) missing.push(`${where}: ${name}`);
    expect(missing).toEqual([]);
  });
});

const prometheusInstalled = spawnSync('prometheus', ['--version']).status === 0;
const alertmanagerInstalled = spawnSync('prometheus-alertmanager', ['--version']).status === 0;

describe.skipIf(!prometheusInstalled || !alertmanagerInstalled)(
  'the native stack prometheus and alertmanager (Debian prometheus, prometheus-alertmanager)',
  () => {
    it('scrape every service, load every rule, and accept every dashboard query', async () => {
      const stackDir = mkdtempSync(join(tmpdir(), 'ops-prom-'));
      const promPort = await freePort();
      const env = {
        ...process.env,
        STACK_DIR: stackDir,
        OPS_TOKEN: iso.env.OPS_TOKEN, // the generated scrape jobs send it (ingest and the API need it)
        PROMETHEUS_PORT: String(promPort),
        ALERTMANAGER_PORT: String(await freePort()),
        PROMETHEUS_SCRAPE_INTERVAL: '1s',
        PROMETHEUS_SCRAPE: services.map((s) => `${s.name}=${s.url.replace('http://', '')}`).join(' '),
      };
      const stack = (...args: string[]) =>
        spawnSync('bash', [join(ROOT, 'deploy/stack.sh'), ...args], {
          env,
          encoding: 'utf8',
          timeout: 120_000,
        });
      const prom = async <T>(path: string): Promise<T> =>
        ((await (await fetch(`http://127.0.0.1:${promPort}${path}`)).json()) as { data: T }).data;
      try {
        const up = stack('up', 'prometheus', 'alertmanager');
        expect(up.status, up.stdout + up.stderr).toBe(0);
        // Every service is a target and answers (scrape discovery runs every 5 s).
        let targets: Array<{ labels: { job: string }; health: string }> = [];
        for (let i = 0; i < 60; i++) {
          targets = (await prom<{ activeTargets: typeof targets }>('/api/v1/targets')).activeTargets;
          if (targets.length === services.length && targets.every((t) => t.health === 'up')) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        expect(targets.map((t) => [t.labels.job, t.health]).sort()).toEqual(
          services.map((s) => [`studystream-${s.name}`, 'up']).sort(),
        );
        // Every rule loaded and evaluates without error.
        const groups = (
          await prom<{ groups: Array<{ rules: Array<{ name: string; health: string }> }> }>('/api/v1/rules')
        ).groups;
        const loaded = groups.flatMap((g) => g.rules);
        expect(loaded.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert).sort());
        // Alerts go to the stack's Alertmanager.
        const ams = await prom<{ activeAlertmanagers: unknown[] }>('/api/v1/alertmanagers');
        expect(ams.activeAlertmanagers).toHaveLength(1);
        // Every dashboard query is valid PromQL (Grafana's $__rate_interval as 1m).
        const bad: string[] = [];
        for (const { where, expr } of panelQueries) {
          const q = encodeURIComponent(expr.replaceAll('$__rate_interval', '1m'));
          const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}`);
          if (res.status !== 200) bad.push(`${where}: ${await res.text()}`);
        }
        expect(bad).toEqual([]);
        // A series a dashboard draws is there, with the service's data.
        const cpu = await prom<{ result: Array<{ metric: { job: string } }> }>(
          `/api/v1/query?query=${encodeURIComponent('process_cpu_seconds_total')}`,
        );
        expect(cpu.result.map((r) => r.metric.job).sort()).toEqual(
          services.map((s) => `studystream-${s.name}`).sort(),
        );
      } finally {
        const down = stack('down', 'prometheus', 'alertmanager');
        rmSync(stackDir, { recursive: true, force: true });
        expect(down.status, down.stdout + down.stderr).toBe(0);
      }
    });
  },
);
