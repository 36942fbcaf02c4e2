import { getJson } from '../api.ts';
import { chart, SEQUENTIAL } from '../charts.ts';
import { card, empty, h, stat, stats } from '../dom.ts';
import { num, pct } from '../format.ts';
import { failure, type View } from '../view.ts';

export type Patterns = {
  from: string;
  to: string;
  heatmap: Array<{ weekday: number; hour: number; events: number; questions: number; activeMinutes: number }>;
  peakHours: Array<{ weekday: number; hour: number; questions: number }>;
  sessionLengths: {
    sessions: number;
    medianMinutes: number | null;
    meanMinutes: number | null;
    buckets: Array<{ fromMinutes: number; toMinutes: number | null; count: number }>;
  };
  efficiency: {
    questions: number;
    activeMinutes: number;
    questionsPerActiveHour: number | null;
    accuracy: number | null;
    meanFocusScore: number | null;
    activeShare: number | null;
    activeDays: number;
  };
  velocity: {
    weeks: Array<{
      week: string;
      questions: number;
      correct: number;
      activeMinutes: number;
      activeDays: number;
      accuracy: number | null;
    }>;
    questionsPerWeekSlope: number | null;
  };
};
type Sessions = {
  recent: Array<{
    sessionId: string;
    startedAt: string;
    focusScore: number | null;
    durationMs: number;
    accuracy: number | null;
  }>;
};

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export const efficiency: View = async (ctx) => {
  const [r, s] = await Promise.all([
    getJson<Patterns>('/api/analytics/study-patterns'),
    getJson<Sessions>('/api/analytics/sessions?limit=20'),
  ]);
  if (r.kind !== 'ok') return failure(r, 'Study efficiency', ctx);
  const d = r.data;
  // The API answers in the student's local time (the zone each event carried; see study-patterns' localTime).
  const cells = d.heatmap.map((c) => ({ weekday: c.weekday, hour: c.hour, value: c.questions }));
  const e = d.efficiency;
  const b = d.sessionLengths.buckets;
  const weeks = d.velocity.weeks;
  const sessions = s.kind === 'ok' ? [...s.data.recent].reverse() : [];
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return h(
    'div',
    { class: 'grid wide' },
    card(
      'Efficiency',
      stats(
        stat('Questions', String(e.questions), 'eff.questions'),
        stat('Questions per active hour', num(e.questionsPerActiveHour), 'eff.questionsPerActiveHour'),
        stat('Accuracy', pct(e.accuracy), 'eff.accuracy'),
        stat('Mean focus', pct(e.meanFocusScore), 'eff.meanFocusScore'),
        stat('Active share of session time', pct(e.activeShare), 'eff.activeShare'),
        stat('Active days', String(e.activeDays), 'eff.activeDays'),
      ),
      h('p', { class: 'hint' }, `${d.from} to ${d.to}.`),
    ),
    card(
      'When you study (questions, local time)',
      cells.length
        ? chart(
            `Questions by weekday and hour in your local time (the zone your devices reported, now ${zone}); ${cells.reduce((a, c) => a + c.value, 0)} questions`,
            {
              tooltip: {
                formatter: (p: { value: [number, number, number] }) =>
                  `${DAYS[p.value[1]]} ${p.value[0]}:00 — ${p.value[2]} questions`,
              },
              grid: { left: 44, right: 16, top: 10, bottom: 60 },
              xAxis: {
                type: 'category',
                data: Array.from({ length: 24 }, (_, i) => String(i)),
                name: 'hour',
                splitArea: { show: true },
              },
              yAxis: { type: 'category', data: DAYS, inverse: true, splitArea: { show: true } },
              visualMap: {
                min: 0,
                max: Math.max(1, ...cells.map((c) => c.value)),
                orient: 'horizontal',
                left: 'center',
                bottom: 0,
                inRange: { color: [...SEQUENTIAL].reverse() },
              },
              series: [{ type: 'heatmap', data: cells.map((c) => [c.hour, c.weekday - 1, c.value]) }],
            },
            300,
          )
        : empty('No study activity in this window.'),
      d.peakHours.length
        ? h(
            'p',
            { 'data-k': 'peak' },
            `Peak: ${d.peakHours
              .slice(0, 3)
              .map((p) => `${DAYS[p.weekday - 1]} ${p.hour}:00 (${p.questions})`)
              .join(', ')}`,
          )
        : null,
    ),
    card(
      'Session length',
      stats(
        stat('Sessions', String(d.sessionLengths.sessions), 'len.sessions'),
        stat('Median', `${num(d.sessionLengths.medianMinutes)} min`, 'len.median'),
        stat('Mean', `${num(d.sessionLengths.meanMinutes)} min`, 'len.mean'),
      ),
      d.sessionLengths.sessions
        ? chart(
            `Distribution of session lengths: ${b.map((x) => `${x.count} of ${x.fromMinutes}${x.toMinutes === null ? '+' : `–${x.toMinutes}`} min`).join(', ')}`,
            {
              tooltip: {},
              grid: { left: 40, right: 16, top: 16, bottom: 40 },
              xAxis: {
                type: 'category',
                data: b.map((x) =>
                  x.toMinutes === null ? `${x.fromMinutes}+` : `${x.fromMinutes}–${x.toMinutes}`,
                ),
                name: 'minutes',
                nameLocation: 'middle',
                nameGap: 26,
              },
              yAxis: { type: 'value', minInterval: 1 },
              series: [{ type: 'bar', data: b.map((x) => x.count), color: '#0072B2' }],
            },
          )
        : empty('No finished sessions yet.'),
    ),
    card(
      'Weekly trend',
      weeks.length
        ? chart(
            `Questions and accuracy per week, ${weeks.length} weeks; trend ${num(d.velocity.questionsPerWeekSlope, 2)} questions per week`,
            {
              tooltip: { trigger: 'axis' },
              legend: { top: 0 },
              grid: { left: 44, right: 44, top: 32, bottom: 32 },
              xAxis: { type: 'category', data: weeks.map((w) => w.week) },
              yAxis: [
                { type: 'value', name: 'questions', minInterval: 1 },
                {
                  type: 'value',
                  name: 'accuracy',
                  min: 0,
                  max: 1,
                  axisLabel: { formatter: (v: number) => pct(v) },
                },
              ],
              series: [
                { name: 'questions', type: 'bar', data: weeks.map((w) => w.questions), color: '#56B4E9' },
                {
                  name: 'accuracy',
                  type: 'line',
                  yAxisIndex: 1,
                  data: weeks.map((w) => w.accuracy),
                  color: '#D55E00',
                  connectNulls: true,
                },
              ],
            },
          )
        : empty('No weeks yet.'),
    ),
    card(
      'Focus per session',
      sessions.length
        ? chart(`Focus score of your last ${sessions.length} sessions`, {
            tooltip: { trigger: 'axis' },
            grid: { left: 44, right: 16, top: 16, bottom: 32 },
            xAxis: {
              type: 'category',
              data: sessions.map((x) => x.startedAt.slice(5, 16).replace('T', ' ')),
            },
            yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v: number) => pct(v) } },
            series: [
              { type: 'line', data: sessions.map((x) => x.focusScore), color: '#009E73', symbolSize: 8 },
            ],
          })
        : empty('No sessions yet.'),
    ),
  );
};
