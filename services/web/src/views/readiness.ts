import { getJson } from '../api.ts';
import { chart, SCORE } from '../charts.ts';
import { card, empty, h, stat, stats, table } from '../dom.ts';
import { firstArray, firstNumber, firstString, num, pct } from '../format.ts';
import { failure, type View } from '../view.ts';

/**
 * Exam readiness (issue 16: GET /api/analytics/exam-readiness): readiness 0-100, predicted score and pass
 * probability with intervals, coverage, weak areas by exam section, days until exam-ready. Read defensively.
 */
export const readiness: View = async (ctx) => {
  const r = await getJson('/api/analytics/exam-readiness');
  if (r.kind !== 'ok') return failure(r, 'Exam readiness', ctx);
  const d = r.data;
  const score = firstNumber(d, 'readiness', 'readinessScore', 'score');
  if (score === null) return card('Exam readiness', empty('No readiness estimate yet.'));
  const readiness100 = score <= 1 ? score * 100 : score;
  const sections = firstArray(d, 'sections', 'weakAreas', 'bySection');
  const days = firstNumber(d, 'daysUntilReady', 'daysToReady', 'projection.days');
  const band = (p: string) => {
    const v = firstNumber(d, `${p}.value`, `${p}.estimate`, p);
    const lo = firstNumber(d, `${p}.lower`, `${p}.interval.lower`, `${p}Lower`);
    const hi = firstNumber(d, `${p}.upper`, `${p}.interval.upper`, `${p}Upper`);
    return { v, text: `${pct(v)}${lo !== null && hi !== null ? ` (${pct(lo)}–${pct(hi)})` : ''}` };
  };
  const predicted = band('predictedScore');
  const pass = band('passProbability');
  return h(
    'div',
    { class: 'grid wide' },
    card(
      'Exam readiness',
      chart(`Readiness gauge: ${num(readiness100, 0)} of 100`, {
        series: [
          {
            type: 'gauge',
            min: 0,
            max: 100,
            axisLine: {
              lineStyle: {
                width: 14,
                color: [
                  [0.4, SCORE[0]!],
                  [0.7, SCORE[2]!],
                  [1, SCORE[4]!],
                ],
              },
            },
            detail: { valueAnimation: false, formatter: '{value}', color: '#1a1a1a' },
            data: [{ value: Math.round(readiness100), name: 'readiness' }],
          },
        ],
      }),
      stats(
        stat('Readiness', num(readiness100, 0), 'ready.score'),
        stat('Predicted exam score', predicted.text, 'ready.predicted'),
        stat('Pass probability', pass.text, 'ready.pass'),
        stat('Topic coverage', pct(firstNumber(d, 'coverage', 'topicCoverage')), 'ready.coverage'),
        stat(
          'Exam-ready in',
          days === null ? '–' : days === 0 ? 'ready now' : `${Math.ceil(days)} days`,
          'ready.days',
        ),
        stat('Model', firstString(d, 'modelVersion', 'model.version') ?? '–', 'ready.model'),
      ),
    ),
    card(
      'By exam section',
      sections.length
        ? table(
            'Readiness by exam section',
            ['Section', 'Score', 'Weight'],
            sections.map((s) => [
              firstString(s, 'name', 'section', 'system') ?? '?',
              pct(firstNumber(s, 'score', 'mastery', 'readiness')),
              pct(firstNumber(s, 'examShare', 'weight', 'examWeight')),
            ]),
          )
        : empty('No section breakdown in this answer.'),
    ),
    card(
      'Projection',
      firstArray(d, 'projection.timeline', 'timeline').length
        ? (() => {
            const tl = firstArray(d, 'projection.timeline', 'timeline');
            return chart(`Projected readiness over ${tl.length} points`, {
              tooltip: { trigger: 'axis' },
              grid: { left: 44, right: 16, top: 16, bottom: 32 },
              xAxis: { type: 'category', data: tl.map((p) => firstString(p, 'day', 'date') ?? '') },
              yAxis: { type: 'value', min: 0, max: 100 },
              series: [
                {
                  type: 'line',
                  data: tl.map((p) => {
                    const v = firstNumber(p, 'readiness', 'score', 'value');
                    return v !== null && v <= 1 ? v * 100 : v;
                  }),
                },
              ],
            });
          })()
        : h(
            'p',
            {},
            days === null
              ? 'No projection yet.'
              : `At your current pace you are exam-ready in ${Math.ceil(days)} days.`,
          ),
    ),
  );
};
