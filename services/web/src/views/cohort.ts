import { getJson } from '../api.ts';
import { chart } from '../charts.ts';
import { card, empty, h, stat, stats } from '../dom.ts';
import { num, pct } from '../format.ts';
import { failure, type View } from '../view.ts';

type Metric = {
  value: number | null;
  percentile: number | null;
  cohortQuantiles: { p10: number; p25: number; p50: number; p75: number; p90: number } | null;
  population: number | null;
  suppressed: boolean;
};
type Percentiles = {
  cohort: string | null;
  from: string;
  to: string;
  k: number;
  metrics: Record<string, Metric>;
};

const LABELS: Record<string, { label: string; fmt: (v: number | null) => string }> = {
  accuracy: { label: 'Accuracy', fmt: pct },
  studyMinutesPerWeek: { label: 'Study minutes per week', fmt: (v) => num(v) },
  questionsPerWeek: { label: 'Questions per week', fmt: (v) => num(v) },
};

export const cohort: View = async (ctx) => {
  const r = await getJson<Percentiles>('/api/analytics/percentiles');
  if (r.kind !== 'ok') return failure(r, 'Cohort comparison', ctx);
  const d = r.data;
  const entries = Object.entries(d.metrics ?? {});
  if (entries.length === 0 || !d.cohort) return card('Cohort', empty('You are not in a cohort yet.'));
  return h(
    'div',
    { class: 'grid wide' },
    h(
      'p',
      { class: 'hint' },
      `Cohort ${d.cohort}, ${d.from} to ${d.to}. Figures need at least ${d.k} students.`,
    ),
    ...entries.map(([key, m]) => {
      const meta = LABELS[key] ?? { label: key, fmt: (v: number | null) => num(v) };
      if (m.suppressed || !m.cohortQuantiles) {
        return card(meta.label, empty(`Withheld: fewer than ${d.k} students have this figure.`));
      }
      const q = m.cohortQuantiles;
      return card(
        meta.label,
        stats(
          stat('You', meta.fmt(m.value), `pct.${key}.value`),
          stat(
            'Your percentile',
            m.percentile === null ? '–' : `${num(m.percentile)}`,
            `pct.${key}.percentile`,
          ),
          stat('Cohort median', meta.fmt(q.p50), `pct.${key}.p50`),
          stat('Students', String(m.population ?? '–'), `pct.${key}.population`),
        ),
        chart(
          `${meta.label}: cohort 10th to 90th percentile ${meta.fmt(q.p10)} to ${meta.fmt(q.p90)}, median ${meta.fmt(q.p50)}; you ${meta.fmt(m.value)} (percentile ${num(m.percentile)})`,
          {
            grid: { left: 16, right: 16, top: 30, bottom: 30 },
            xAxis: { type: 'value', scale: true },
            yAxis: { type: 'category', data: [''], show: false },
            tooltip: {},
            series: [
              {
                name: 'p10–p90',
                type: 'bar',
                stack: 'r',
                data: [q.p10],
                itemStyle: { color: 'transparent' },
                barWidth: 18,
                silent: true,
              },
              {
                name: 'p10–p90',
                type: 'bar',
                stack: 'r',
                data: [q.p90 - q.p10],
                itemStyle: { color: '#cfe3f3' },
                barWidth: 18,
              },
              {
                name: 'p25–p75',
                type: 'bar',
                data: [q.p75],
                barGap: '-100%',
                barWidth: 18,
                itemStyle: { color: 'transparent' },
                silent: true,
                z: 1,
              },
              {
                name: 'you',
                type: 'scatter',
                data: m.value === null ? [] : [[m.value, 0]],
                symbol: 'diamond',
                symbolSize: 20,
                itemStyle: { color: '#D55E00', borderColor: '#000', borderWidth: 1 },
                label: { show: true, position: 'top', formatter: 'you', color: '#1a1a1a' },
                markLine: {
                  symbol: 'none',
                  data: [
                    { xAxis: q.p25, name: 'p25' },
                    { xAxis: q.p50, name: 'median' },
                    { xAxis: q.p75, name: 'p75' },
                  ],
                  label: { formatter: '{b}', color: '#1a1a1a' },
                  lineStyle: { color: '#0072B2', type: 'solid' },
                },
              },
            ],
          },
          120,
        ),
      );
    }),
  );
};
