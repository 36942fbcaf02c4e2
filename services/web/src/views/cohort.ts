import { getJson } from '../api.ts';
import { chart } from '../charts.ts';
import { card, empty, h, stat, stats } from '../dom.ts';
import { num, pct } from '../format.ts';
import { failure, type View } from '../view.ts';

type Metric = {
  value: number | null;
  percentile: number | null;
  cohortQuantiles: Record<'p10' | 'p25' | 'p50' | 'p75' | 'p90', number | null> | null;
  histogram: { from: number; to: number; students: number }[] | null;
  bin: number | null;
  population: number | null;
  suppressed: boolean;
};
type Percentiles = {
  cohort: string | null;
  window: { kind: string; period: string };
  from: string;
  to: string;
  k: number;
  inRelease: boolean;
  metrics: Record<string, Metric>;
};

const LABELS: Record<string, { label: string; fmt: (v: number | null) => string }> = {
  accuracy: { label: 'Accuracy', fmt: pct },
  studyMinutesPerWeek: { label: 'Study minutes per week', fmt: (v) => num(v) },
  questionsPerWeek: { label: 'Questions per week', fmt: (v) => num(v) },
  mastery: { label: 'Mean mastery', fmt: pct },
  reviewAdherence: { label: 'Reviews done on time', fmt: pct },
};

/** The cohort view compares the last complete ISO week (a fixed window: services/analytics/README.md). */
const COHORT_WINDOW = 'week';

export const cohort: View = async (ctx) => {
  const r = await getJson<Percentiles>(`/api/analytics/percentiles?window=${COHORT_WINDOW}`);
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
      `Cohort ${d.cohort}, week ${d.window.period} (${d.from} to ${d.to}). Figures need at least ${d.k} students; ` +
        'each bar of the distributions holds at least that many.',
    ),
    ...entries.map(([key, m]) => {
      const meta = LABELS[key] ?? { label: key, fmt: (v: number | null) => num(v) };
      if (m.suppressed || !m.cohortQuantiles || !m.histogram) {
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
          `${meta.label}: the cohort's distribution in ${m.histogram.length} bars of at least ${d.k} students; ` +
            `you ${meta.fmt(m.value)} (percentile ${num(m.percentile)}), median ${meta.fmt(q.p50)}`,
          {
            grid: { left: 40, right: 16, top: 20, bottom: 40 },
            xAxis: {
              type: 'category',
              data: m.histogram.map((b) => `${meta.fmt(b.from)}–${meta.fmt(b.to)}`),
              axisLabel: { interval: 0, rotate: m.histogram.length > 5 ? 30 : 0 },
            },
            yAxis: { type: 'value', name: 'students', minInterval: 1 },
            tooltip: {},
            series: [
              {
                name: 'students',
                type: 'bar',
                data: m.histogram.map((b, i) => ({
                  value: b.students,
                  itemStyle: { color: i === m.bin ? '#D55E00' : '#0072B2' },
                })),
                label: {
                  show: true,
                  position: 'top',
                  color: '#1a1a1a',
                  formatter: (p: { dataIndex: number }) => (p.dataIndex === m.bin ? 'you' : ''),
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
