import { computeInsights, FDR_Q, insightAttempts, MIN_EFFECT, MIN_PER_GROUP } from '../../domain/insights.ts';
import { addDays, round, utcDay } from '../compute.ts';
import { insightHistory } from '../data/history.ts';
import { insightsQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';

const TITLES = {
  'best-time-of-day': 'Best time of day',
  'ideal-session-length': 'Ideal session length',
  'break-fatigue': 'Breaks',
  'notes-recall': 'Notes and highlights',
  consistency: 'Consistency',
} as const;

export const insights = defineRoute({
  path: '/api/analytics/insights',
  operationId: 'getInsights',
  tag: 'student',
  summary: 'Study-efficiency and learning-pattern insights, stated only when the data support them',
  description:
    "Candidates over the student's answers of the last `days` days (local time: each event's zone, else the " +
    'most recent known one, else UTC): best time of day, ideal session length, accuracy after >= 60 min without a ' +
    'break, notes/highlights versus later recall, consistency. Each is a two-proportion z-test of answer accuracy ' +
    `between two groups (at least ${MIN_PER_GROUP} answers each; best-of bands Bonferroni-adjusted), with the ` +
    `effect (difference of accuracies) and its 95% interval; Benjamini-Hochberg at q = ${FDR_Q} across the ` +
    `candidates. status 'stated' (q <= ${FDR_Q} and |effect| >= ${MIN_EFFECT}) carries a sentence built from its ` +
    "numbers; otherwise 'not-enough-evidence' or 'not-enough-data' and a sentence saying so.",
  scope: 'student',
  reads: 'replica',
  query: insightsQuery,
  cache: 'insights',
  response: RESPONSES.insights,
  handler: async ({ user, query, data, now }) => {
    const today = utcDay(now);
    const from = addDays(today, -(query.days - 1));
    const history = await insightHistory(data.chRows, user, from);
    const attempts = insightAttempts(history.answers, history.notes);
    const all = computeInsights(attempts);
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      from,
      to: today,
      answers: attempts.length,
      method: {
        test: 'two-proportion z-test',
        fdr: 'benjamini-hochberg',
        q: FDR_Q,
        minimumPerGroup: MIN_PER_GROUP,
        minimumEffect: MIN_EFFECT,
      },
      insights: all.map((i) => ({
        kind: i.kind,
        status: i.status,
        title: `${TITLES[i.kind]}: ${i.sentence}`,
        sentence: i.sentence,
        evidence:
          i.effect === null
            ? `${i.group.answers} and ${i.comparison.answers} answers so far (${MIN_PER_GROUP} needed in each).`
            : `${i.group.label} ${round(i.group.accuracy, 3)} (n = ${i.group.answers}) vs ${i.comparison.label} ` +
              `${round(i.comparison.accuracy, 3)} (n = ${i.comparison.answers}); effect ${round(i.effect, 3)}, ` +
              `95% CI ${round(i.ci95![0], 3)} to ${round(i.ci95![1], 3)}, p = ${round(i.pValue, 4)}, q = ${round(i.qValue, 4)}`,
        group: { ...i.group, accuracy: round(i.group.accuracy) },
        comparison: { ...i.comparison, accuracy: round(i.comparison.accuracy) },
        effect: round(i.effect),
        ci95: i.ci95 ? [round(i.ci95[0]), round(i.ci95[1])] : null,
        pValue: i.pValue,
        qValue: i.qValue,
      })),
    };
  },
});
