import { getJson } from '../api.ts';
import { chart } from '../charts.ts';
import { card, empty, h, stat, stats, table, unavailable } from '../dom.ts';
import { pct } from '../format.ts';
import { failure, type View } from '../view.ts';

type CohortTopics = {
  cohort: string;
  from: string;
  to: string;
  k: number;
  cohortSize: number;
  suppressed: boolean;
  withheldTopics: number;
  topics: Array<{
    topicId: string;
    students: number;
    questions: number;
    accuracy: number;
    firstAttemptAccuracy: number | null;
    difficulty: number;
    strugglingShare: number | null;
  }>;
};

/** Accuracy buckets of the topics (a distribution over topics, never over students). */
function histogram(values: number[], bins = 10): number[] {
  const out = new Array<number>(bins).fill(0);
  for (const v of values) out[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]!++;
  return out;
}

export const educator: View = async (ctx) => {
  if (ctx.cohorts.length === 0) return card('Cohorts', empty('Your token names no cohort.'));
  const chosen = ctx.arg && ctx.cohorts.includes(ctx.arg) ? ctx.arg : ctx.cohorts[0]!;
  const picker = h(
    'label',
    { class: 'picker' },
    'Cohort ',
    h(
      'select',
      {
        onchange: (e: Event) =>
          (location.hash = `#/educator/${encodeURIComponent((e.target as HTMLSelectElement).value)}`),
      },
      ...ctx.cohorts.map((c) => h('option', { value: c, selected: c === chosen }, c)),
    ),
  );
  const r = await getJson<CohortTopics>(
    `/api/analytics/cohorts/${encodeURIComponent(chosen)}/topics?limit=50&window=week`,
  );
  if (r.kind !== 'ok') return h('div', { class: 'grid wide' }, picker, failure(r, 'Cohort topics', ctx));
  const d = r.data;
  const top = d.topics.slice(0, 15);
  return h(
    'div',
    { class: 'grid wide' },
    picker,
    card(
      `Cohort ${d.cohort}`,
      stats(
        stat('Students', String(d.cohortSize), 'cohort.size'),
        stat('Topics shown', String(d.topics.length), 'cohort.topics'),
        stat(`Withheld (fewer than ${d.k} students)`, String(d.withheldTopics), 'cohort.withheld'),
      ),
      h('p', { class: 'hint' }, `${d.from} to ${d.to}. Aggregates only; no individual student is shown.`),
      d.suppressed ? empty(`The cohort has fewer than ${d.k} students: figures are withheld.`) : null,
    ),
    card(
      'Topic difficulty',
      top.length
        ? chart(
            `Difficulty (share of wrong answers) and share of struggling students for the ${top.length} hardest topics`,
            {
              tooltip: { trigger: 'axis' },
              legend: { top: 0 },
              grid: { left: 180, right: 20, top: 32, bottom: 28 },
              xAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v: number) => pct(v) } },
              yAxis: {
                type: 'category',
                inverse: true,
                data: top.map((t) => t.topicId),
                axisLabel: { width: 170, overflow: 'truncate' },
              },
              series: [
                { name: 'difficulty', type: 'bar', data: top.map((t) => t.difficulty), color: '#D55E00' },
                {
                  name: 'students struggling',
                  type: 'bar',
                  data: top.map((t) => t.strugglingShare),
                  color: '#0072B2',
                },
              ],
            },
            Math.max(200, 40 + top.length * 36),
          )
        : empty('No topic has enough students yet.'),
    ),
    card(
      'Topics',
      d.topics.length
        ? table(
            'Topics by difficulty',
            ['Topic', 'Students', 'Questions', 'Accuracy', 'Difficulty', 'Struggling'],
            d.topics.map((t) => [
              t.topicId,
              String(t.students),
              String(t.questions),
              pct(t.accuracy),
              h('span', { 'data-k': `difficulty.${t.topicId}` }, pct(t.difficulty)),
              h(
                'span',
                { 'data-k': `struggling.${t.topicId}` },
                `${pct(t.strugglingShare)} of students struggle`,
              ),
            ]),
            'cohort',
          )
        : empty('No topic has enough students yet.'),
    ),
    card(
      'Distribution of topic accuracy',
      d.topics.length
        ? chart(`How many topics fall in each accuracy band (${d.topics.length} topics)`, {
            tooltip: {},
            grid: { left: 40, right: 16, top: 16, bottom: 40 },
            xAxis: {
              type: 'category',
              data: Array.from({ length: 10 }, (_, i) => `${i * 10}–${i * 10 + 10}%`),
              name: 'accuracy',
              nameLocation: 'middle',
              nameGap: 26,
            },
            yAxis: { type: 'value', minInterval: 1 },
            series: [{ type: 'bar', data: histogram(d.topics.map((t) => t.accuracy)), color: '#009E73' }],
          })
        : empty('No data.'),
    ),
    card(
      'Time to mastery',
      unavailable('Time to mastery', 'no cohort time-to-mastery endpoint in the API yet'),
    ),
  );
};
