import { ApiError } from '../errors.ts';
import { cohortParams, cohortTopicsQuery, percentilesQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { addDays, round, utcDay } from '../compute.ts';
import { studentPercentiles, topicDifficulty, type MetricPercentile } from '../data/cohort.ts';
import { cohortMembers, cohortsOf } from '../data/state.ts';

const metricView = (m: MetricPercentile) => ({
  value: round(m.value),
  percentile: round(m.percentile, 1),
  cohortMedian: round(m.cohortMedian),
  population: m.suppressed ? null : m.population,
  suppressed: m.suppressed,
});

export const percentiles = defineRoute({
  path: '/api/analytics/percentiles',
  operationId: 'getPercentiles',
  tag: 'student',
  summary: "The student's percentiles within a cohort (k-anonymous)",
  description:
    "Percentile rank (0-100, mean rank: share below plus half the ties) of the student's accuracy, active study " +
    'minutes per week and questions per week over the last `days` days, within `cohort` (one the student belongs to; ' +
    'default their first cohort, or every active student when they have none). A metric whose population is smaller ' +
    'than k has `percentile: null, suppressed: true`; the population size is then not disclosed either.',
  scope: 'student',
  query: percentilesQuery,
  cache: 'percentiles',
  response: RESPONSES.percentiles,
  handler: async ({ user, query, principal, data, now }) => {
    const today = utcDay(now);
    const from = addDays(today, -(query.days - 1));
    const mine = await cohortsOf(data.pg, user);
    let cohort: string | null = query.cohort ?? mine[0] ?? null;
    if (query.cohort !== undefined && !mine.includes(query.cohort) && principal.role !== 'admin') {
      throw new ApiError(403, 'forbidden', 'the student is not a member of this cohort');
    }
    let members: string[] | null = null;
    if (cohort !== null) {
      members = await cohortMembers(data.pg, cohort);
      if (members === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
    }
    const p = await studentPercentiles(data.ch, { user, members, from, to: today, k: data.kAnonymity });
    if (members === null) cohort = null;
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      cohort,
      from,
      to: today,
      k: data.kAnonymity,
      metrics: {
        accuracy: metricView(p.accuracy),
        studyMinutesPerWeek: metricView(p.studyMinutesPerWeek),
        questionsPerWeek: metricView(p.questionsPerWeek),
      },
    };
  },
});

export const cohortTopics = defineRoute({
  path: '/api/analytics/cohorts/:cohort/topics',
  operationId: 'getCohortTopicDifficulty',
  tag: 'educator',
  summary: 'Topic difficulty across a cohort (educators of the cohort, admins)',
  description:
    "Per topic over the cohort's members in the last `days` days: students who answered, answers, accuracy, " +
    'first-attempt accuracy and the share of students struggling (>= 5 answers, accuracy < 50%), hardest first. ' +
    'Aggregates only: topics answered by fewer than k students are withheld (counted in `withheldTopics`), and a ' +
    'cohort smaller than k yields no topics at all.',
  scope: 'cohort',
  params: cohortParams,
  query: cohortTopicsQuery,
  cache: 'cohort-topics',
  response: RESPONSES.cohortTopics,
  handler: async ({ cohort, query, data, now }) => {
    const today = utcDay(now);
    const from = addDays(today, -(query.days - 1));
    const members = await cohortMembers(data.pg, cohort);
    if (members === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
    const large = members.length >= data.kAnonymity;
    const result = large
      ? await topicDifficulty(data.ch, { members, from, to: today, k: data.kAnonymity, limit: query.limit })
      : { topics: [], withheld: 0 };
    return {
      cohort,
      generatedAt: new Date(now).toISOString(),
      from,
      to: today,
      k: data.kAnonymity,
      cohortSize: large ? members.length : null,
      suppressed: !large,
      withheldTopics: result.withheld,
      topics: result.topics.map((t) => ({
        topicId: t.topicId,
        students: t.students,
        questions: t.questions,
        accuracy: round(t.accuracy),
        firstAttemptAccuracy: round(t.firstAttemptAccuracy),
        strugglingShare: round(t.strugglingShare),
      })),
    };
  },
});
