import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exposedMetricNames, promqlMetricNames } from '../../support/promql.ts';

const DIR = fileURLToPath(new URL('../../../deploy/grafana/', import.meta.url));

type Panel = {
  id: number;
  title: string;
  datasource: { uid: string };
  targets: Array<{ expr: string; refId: string }>;
};
type Dashboard = {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string }> };
};

const dashboards = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, d: JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Dashboard }));

describe('Grafana dashboards (deploy/grafana/*.json)', () => {
  it('the five dashboards exist with unique uids', () => {
    expect(dashboards.map((x) => x.file).sort()).toEqual([
      'api.json',
      'clickhouse.json',
      'ingest.json',
      'jobs.json',
      'stream.json',
    ]);
    expect(new Set(dashboards.map((x) => x.d.uid)).size).toBe(dashboards.length);
  });

  it.each(dashboards)(
    '$file: every panel queries the Prometheus variable and names at least one metric',
    ({ d }) => {
      expect(d.templating.list.map((v) => v.name)).toContain('datasource');
      expect(d.panels.length).toBeGreaterThan(3);
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
      for (const p of d.panels) {
        expect(p.datasource.uid, p.title).toBe('${datasource}');
        expect(p.targets.length, p.title).toBeGreaterThan(0);
        for (const t of p.targets)
          expect(promqlMetricNames(t.expr).length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
      }
    },
  );
});

describe('PromQL metric-name extraction (test/support/promql.ts)', () => {
  it('keeps metric names, drops functions, keywords, labels, strings, ranges and variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{service="a",le!="x"}[$__rate_interval]))) > 1',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      promqlMetricNames(
        'sum by (p) (stream_consumer_lag) > 1000 and sum without (x) (delta(stream_x_total[15m])) > 0',
      ),
    ).toEqual(['stream_consumer_lag', 'stream_x_total']);
    expect(promqlMetricNames('a_total / on (job) group_left (instance) b_total offset 5m')).toEqual([
      'a_total',
      'b_total',
    ]);
    expect(promqlMetricNames('up{job=~"studystream-.*"} == 0')).toEqual(['up']);
    expect(promqlMetricNames('process_resident_memory_bytes / 1e9 > 2.5')).toEqual([
      'process_resident_memory_bytes',
    ]);
  });

  it('reads metric names from an exposition, histograms with their series', () => {
    const names = exposedMetricNames(
      '# HELP h_seconds x\n# TYPE h_seconds histogram\n# HELP c_total y\n# TYPE c_total counter\nc_total{a="1"} 3\ng 1\n',
    );
    expect([...names].sort()).toEqual([
      'c_total',
      'g',
      'h_seconds',
      'h_seconds_bucket',
      'h_seconds_count',
      'h_seconds_sum',
    ]);
  });
});
