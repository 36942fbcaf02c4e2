import { strugglingShare, studentStanding, topicDifficulty, type Standing } from '../../analytics/index.ts';
import { ApiError } from '../errors.ts';
import { cohortParams, cohortTopicsQuery, percentilesQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { addDays, round, utcDay } from '../compute.ts';
import { cohortMembers, cohortsOf } from '../data/state.ts';

/**
 * Cohort figures come from the cohort module (services/analytics/cohort.ts: quantiles and rank counts computed in
 * ClickHouse, k-anonymous). The API adds who may ask (membership, educator claims) and what is disclosed: below k
 * neither the figure nor the group size is returned.
 */

const SUPPRESSED = {
  value: null,
  percentile: null,
  cohortQuantiles: null,
  population: null,
  suppressed: true,
};

function metricView(s: Standing, k: number, mine: boolean) {
  if (s.students < k || s.percentile === null) {
    return { ...SUPPRESSED, value: mine ? round(s.value) : null };
  }
  const q = s.quantiles;
  return {
    value: round(s.value),
    percentile: s.percentile,
    cohortQuantiles: {
      p10: round(q.p10),
      p25: round(q.p25),
      p50: round(q.p50),
      p75: round(q.p75),
      p90: round(q.p90),
    },
    population: s.students,
    suppressed: false,
  };
}

export const percentiles = defineRoute({
  path: '/api/analytics/percentiles',
  notFound: 'The cohort does not exist (cohort_not_found)',
  operationId: 'getPercentiles',
  tag: 'student',
  summary: "The student's percentiles within a cohort (k-anonymous)",
  description:
    "Percentile rank (0-100: share of the cohort below, ties counted half) of the student's accuracy, study minutes " +
    'per week (finished sessions) and questions per week over the last `days` days, within `cohort` (one the student ' +
    'belongs to; default their first cohort, or every active student when they have none). The population is the ' +
    "cohort's students with activity in the window. A metric whose population is smaller than k has " +
    '`percentile: null, suppressed: true`, and neither quantiles nor the population size are disclosed.',
  scope: 'student',
  query: percentilesQuery,
  cache: 'percentiles',
  response: RESPONSES.percentiles,
  // Membership is checked before the cache on every request (a student removed from a cohort is refused at once),
  // and the resolved cohort is part of the cache key (the default follows the student's current cohorts).
  authorize: async ({ user, query, principal, data }) => {
    const mine = await cohortsOf(data.pg, user);
    if (query.cohort !== undefined && !mine.includes(query.cohort) && principal.role !== 'admin') {
      throw new ApiError(403, 'forbidden', 'the student is not a member of this cohort');
    }
    return { cohort: query.cohort ?? mine[0] ?? null };
  },
  handler: async ({ user, query, data, now, authorized }) => {
    const today = utcDay(now);
    const from = addDays(today, -(query.days - 1));
    const cohort = authorized.cohort as string | null;
    let members: string[] | undefined;
    if (cohort !== null) {
      const found = await cohortMembers(data.pg, cohort);
      if (found === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
      members = found;
    }
    const k = data.kAnonymity;
    const result = await studentStanding(
      data.ch,
      user,
      { userIds: members, from: new Date(`${from}T00:00:00Z`), to: new Date(`${today}T00:00:00Z`) },
      { minK: k },
    );
    const metrics =
      result.status === 'ok'
        ? {
            accuracy: metricView(result.value.accuracy, k, true),
            studyMinutesPerWeek: metricView(result.value.studyMinutesPerWeek, k, true),
            questionsPerWeek: metricView(result.value.questionsPerWeek, k, true),
          }
        : { accuracy: SUPPRESSED, studyMinutesPerWeek: SUPPRESSED, questionsPerWeek: SUPPRESSED };
    return { user, generatedAt: new Date(now).toISOString(), cohort, from, to: today, k, metrics };
  },
});

export const cohortTopics = defineRoute({
  path: '/api/analytics/cohorts/:cohort/topics',
  notFound: 'The cohort does not exist (cohort_not_found)',
  operationId: 'getCohortTopicDifficulty',
  tag: 'educator',
  summary: 'Topic difficulty across a cohort (educators of the cohort, admins)',
  description:
    "Per topic over the cohort's students in the last `days` days: students who answered, answers, accuracy, " +
    'first-attempt accuracy, difficulty (1 - accuracy) and the share of students struggling (>= 5 answers, accuracy ' +
    'below 60%; null when fewer than k students have 5 answers), hardest first. Aggregates only: topics answered by ' +
    'fewer than k students are withheld (`withheldTopics`), and a cohort with fewer than k active students yields ' +
    'nothing (`suppressed: true`, no size).',
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
    const window = {
      userIds: members,
      from: new Date(`${from}T00:00:00Z`),
      to: new Date(`${today}T00:00:00Z`),
    };
    const opts = { minK: data.kAnonymity };
    const [difficulty, struggle] = await Promise.all([
      topicDifficulty(data.ch, window, opts),
      strugglingShare(data.ch, window, opts),
    ]);
    const head = { cohort, generatedAt: new Date(now).toISOString(), from, to: today, k: data.kAnonymity };
    if (difficulty.status !== 'ok') {
      return { ...head, cohortSize: null, suppressed: true, withheldTopics: 0, topics: [] };
    }
    const shares = new Map(
      struggle.status === 'ok' ? struggle.value.topics.map((t) => [t.topicId, t.share]) : [],
    );
    return {
      ...head,
      cohortSize: difficulty.cohortSize,
      suppressed: false,
      withheldTopics: difficulty.value.suppressedTopics,
      topics: difficulty.value.topics.slice(0, query.limit).map((t) => ({
        topicId: t.topicId,
        students: t.students,
        questions: t.attempts,
        accuracy: round(t.accuracy),
        firstAttemptAccuracy: round(t.firstAttemptAccuracy),
        difficulty: round(t.difficulty),
        strugglingShare: round(shares.get(t.topicId) ?? null),
      })),
    };
  },
});
