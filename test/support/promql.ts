/**
 * The metric names a PromQL expression reads (enough PromQL for our rules and dashboards): strips strings, label
 * matchers, range/offset brackets, grouping clauses (by/without/on/ignoring/group_left/group_right lists),
 * function calls and keywords; what is left are metric names.
 */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'inf',
  'nan',
]);

export function promqlMetricNames(expr: string): string[] {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  e = e.replace(/\$\w+|\$\{[^}]*\}/g, ' '); // Grafana variables ($__rate_interval, ${service})
  e = e.replace(/\b\d+(\.\d+)?([eE][+-]?\d+)?(ms|s|m|h|d|w|y)?\b/g, ' '); // numbers and durations
  const names = new Set<string>();
  for (const m of e.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names].sort();
}

/** Metric names a Prometheus text exposition declares (# TYPE lines; histograms and summaries with their series). */
export function exposedMetricNames(exposition: string): Set<string> {
  const out = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [, name, type] = m;
    out.add(name!);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name! + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) out.add(name! + s);
  }
  for (const m of exposition.matchAll(/^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/gm)) out.add(m[1]!);
  return out;
}
