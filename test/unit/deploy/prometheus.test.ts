import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

// promtool comes with Debian's `prometheus` package; deploy/test.sh installs it when missing.
const PROM = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));
const promtool = spawnSync('promtool', ['--version']).status === 0 ? 'promtool' : undefined;
const skipReason = 'promtool not installed (Debian package prometheus; deploy/test.sh installs it when root)';

type Rule = {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations: Record<string, string>;
};
type ExpAlert = { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> };
type RuleTest = { eval_time: string; alertname: string; exp_alerts: ExpAlert[] };
type TestGroup = { name: string; alert_rule_test: RuleTest[] };

const rules = (
  parse(readFileSync(join(PROM, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((g) => g.rules);
const tests = parse(readFileSync(join(PROM, 'alerts.test.yml'), 'utf8')) as { tests: TestGroup[] };

/** Renders the annotation templates the way Prometheus does for these rules (they use only {{ $labels.x }}). */
function renderAnnotations(rule: Rule, labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(rule.annotations).map(([k, v]) => [
      k,
      v.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? ''),
    ]),
  );
}

describe('Prometheus alerting rules (deploy/prometheus/alerts.yml)', () => {
  it('every alert has a severity, a summary and a runbook line; templates use only $labels', () => {
    expect(rules.length).toBeGreaterThanOrEqual(12);
    for (const r of rules) {
      expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.runbook?.length ?? 0, r.alert).toBeGreaterThan(40);
      for (const text of Object.values(r.annotations))
        expect(text).not.toMatch(/\{\{(?!\s*\$labels\.\w+\s*\}\})/);
    }
  });

  it('every alert is tested quiet on the healthy system and firing on a synthetic series', () => {
    const healthy = tests.tests.find((t) => t.name === 'healthy system')!;
    for (const r of rules) {
      const quiet = healthy.alert_rule_test.filter((t) => t.alertname === r.alert);
      expect(quiet.length, `${r.alert} in the healthy group`).toBeGreaterThan(0);
      for (const q of quiet) expect(q.exp_alerts).toEqual([]);
      const firing = tests.tests.flatMap((g) =>
        g.alert_rule_test.filter((t) => t.alertname === r.alert && t.exp_alerts.length > 0),
      );
      expect(firing.length, `${r.alert} firing`).toBeGreaterThan(0);
    }
  });

  it.skipIf(!promtool)(`promtool check rules passes (${promtool ? 'promtool found' : skipReason})`, () => {
    const r = spawnSync(promtool!, ['check', 'rules', join(PROM, 'alerts.yml')], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it.skipIf(!promtool)('promtool test rules passes: each alert fires on its synthetic series only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alerts-test-'));
    copyFileSync(join(PROM, 'alerts.yml'), join(dir, 'alerts.yml'));
    const byName = new Map(rules.map((r) => [r.alert, r]));
    for (const group of tests.tests)
      for (const t of group.alert_rule_test)
        for (const e of t.exp_alerts)
          e.exp_annotations = renderAnnotations(byName.get(t.alertname)!, { ...e.exp_labels });
    writeFileSync(join(dir, 'alerts.test.yml'), stringify(tests));
    const r = spawnSync(promtool!, ['test', 'rules', join(dir, 'alerts.test.yml')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('the README lists every alert with its runbook', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    for (const r of rules) expect(readme, r.alert).toMatch(new RegExp(`\\| \`${r.alert}\` \\|`));
  });
});
