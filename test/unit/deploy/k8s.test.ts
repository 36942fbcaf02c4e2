import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { COMMANDS } from '../../../services/cli/cli.ts';
import { SERVICES } from '../../../services/cli/commands/start.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';

/**
 * deploy/k8s (Kustomize), built with kustomize and validated with kubeconform against the Kubernetes JSON schemas
 * (all three installed by deploy/tools.sh from the Go module proxy and PyPI), plus what the schemas cannot say:
 * probes, resources, secrets by reference, one Deployment per service and processor, lag autoscaling.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OVERLAY = join(ROOT, 'deploy/k8s/overlays/production');
const gobin = (() => {
  const r = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' });
  return r.status === 0 ? join(r.stdout.trim(), 'bin') : undefined;
})();
const tool = (name: string) =>
  gobin && existsSync(join(gobin, name))
    ? join(gobin, name)
    : spawnSync(name, ['version']).status === 0
      ? name
      : undefined;
const kustomize = tool('kustomize');
const kubeconform = tool('kubeconform');
const schemas = join(
  process.env.TOOLS_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'studystream-tools'),
  'kubernetes-json-schema',
  `${process.env.K8S_SCHEMA_VERSION ?? 'v1.32.0'}-local-strict`,
);
const haveSchemas = existsSync(join(schemas, '.prepared'));

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
type Container = {
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
};

function build(): { yaml: string; objects: Obj[] } {
  const r = spawnSync(kustomize!, ['build', OVERLAY], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return { yaml: r.stdout, objects: parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj) };
}

function kubeconformRun(yaml: string) {
  const r = spawnSync(
    kubeconform!,
    [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-schema-location',
      `${schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-',
    ],
    { input: yaml, encoding: 'utf8' },
  );
  return {
    status: r.status,
    report: JSON.parse(r.stdout) as { summary: Record<string, number>; resources?: unknown[] },
  };
}

const SECRET_KEYS = [
  'DATABASE_URL',
  'REDIS_URL',
  'CLICKHOUSE_PASSWORD',
  'JWT_SECRET',
  'INGEST_IP_SALT',
  'OPS_TOKEN',
];
const containersOf = (o: Obj): Container[] => {
  const pod = (
    o.kind === 'CronJob'
      ? (o.spec as { jobTemplate: { spec: { template: { spec: unknown } } } }).jobTemplate.spec.template.spec
      : (o.spec as { template: { spec: unknown } }).template.spec
  ) as { containers: Container[] };
  return pod.containers;
};

const why = !kustomize
  ? 'kustomize not installed (bash deploy/tools.sh)'
  : !kubeconform || !haveSchemas
    ? 'kubeconform or the Kubernetes schemas not installed (bash deploy/tools.sh)'
    : '';

describe.skipIf(!kustomize)('Kubernetes manifests (deploy/k8s)', () => {
  it.skipIf(!kubeconform || !haveSchemas)(
    `kubeconform -strict: every resource is valid against the Kubernetes ${schemas.split('/').pop()} schemas${why ? ` (${why})` : ''}`,
    () => {
      const { yaml, objects } = build();
      const { status, report } = kubeconformRun(yaml);
      expect(report.summary).toEqual({ valid: objects.length, invalid: 0, errors: 0, skipped: 0 });
      expect(status).toBe(0);
    },
  );

  it.skipIf(!kubeconform || !haveSchemas)(
    'kubeconform rejects a broken manifest (the check can fail)',
    () => {
      const broken = [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: x }',
        'spec:',
        '  replicas: two',
        '  selector: { matchLabels: { a: b } }',
        '  template: { metadata: { labels: { a: b } }, spec: { containers: [{ name: x, image: x, probe: 1 }] } }',
      ].join('\n');
      const { status, report } = kubeconformRun(broken);
      expect(report.summary.invalid).toBe(1);
      expect(status).toBe(1);
    },
  );

  it('one Deployment per service and per stream processor, jobs included; batch commands as Jobs and CronJobs', () => {
    const { objects } = build();
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    const runs = deployments.map((d) => containersOf(d)[0]!.args.join(' '));
    for (const s of SERVICES) expect(runs, s.name).toContain(`run ${s.name}`);
    expect(runs).toContain('run jobs');
    const processors = deployments.flatMap((d) =>
      (containersOf(d)[0]!.env ?? []).filter((e) => e.name === 'STREAM_PROCESSORS').map((e) => e.value),
    );
    expect(processors.sort()).toEqual([...streamEnv.load({}).STREAM_PROCESSORS].sort());
    for (const o of objects.filter((x) => x.kind === 'Job' || x.kind === 'CronJob')) {
      const command = containersOf(o)[0]!.args[0]!;
      expect(Object.keys(COMMANDS), o.metadata.name).toContain(command);
    }
  });

  it('probes on /healthz and /readyz, requests and limits, secrets only by reference', () => {
    const { objects } = build();
    for (const o of objects.filter((x) => ['Deployment', 'Job', 'CronJob'].includes(x.kind))) {
      for (const c of containersOf(o)) {
        expect(c.resources?.requests?.cpu && c.resources.requests.memory, o.metadata.name).toBeTruthy();
        expect(c.resources?.limits?.cpu && c.resources.limits.memory, o.metadata.name).toBeTruthy();
        if (o.kind === 'Deployment') {
          expect(c.startupProbe?.httpGet.path, o.metadata.name).toBe('/healthz');
          expect(c.livenessProbe?.httpGet.path, o.metadata.name).toBe('/healthz');
          expect(c.readinessProbe?.httpGet.path, o.metadata.name).toBe('/readyz');
        }
        for (const e of c.env ?? [])
          if (SECRET_KEYS.includes(e.name))
            expect(e.valueFrom?.secretKeyRef?.key, `${o.metadata.name} ${e.name}`).toBe(e.name);
      }
    }
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const config = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'studystream-config',
    ) as unknown as {
      data: Record<string, string>;
    };
    for (const k of SECRET_KEYS) expect(config.data).not.toHaveProperty(k);
  });

  it('every stream processor scales on its consumer lag, at most one replica per partition', () => {
    const { objects } = build();
    const config = objects.find((o) => o.metadata.name === 'studystream-config') as unknown as {
      data: Record<string, string>;
    };
    const partitions = Number(config.data.KAFKA_PARTITIONS);
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    for (const d of objects.filter((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('stream-'))) {
      const processor = containersOf(d)[0]!.env!.find((e) => e.name === 'STREAM_PROCESSORS')!.value;
      const hpa = hpas.find(
        (h) => (h.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === d.metadata.name,
      );
      const spec = hpa?.spec as {
        maxReplicas: number;
        metrics: Array<{
          type: string;
          external?: { metric: { name: string; selector: { matchLabels: Record<string, string> } } };
        }>;
      };
      expect(spec.maxReplicas, d.metadata.name).toBeLessThanOrEqual(partitions);
      expect(spec.metrics[0]).toMatchObject({
        type: 'External',
        external: { metric: { name: 'studystream_consumer_lag', selector: { matchLabels: { processor } } } },
      });
    }
  });
});
