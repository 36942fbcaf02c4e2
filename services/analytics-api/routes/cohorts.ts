import {
  cohortEnv,
  getRelease,
  isReleasable,
  lastCompleteWindow,
  memberStanding,
  METRICS,
  parsePeriod,
  windowKindForDays,
  type CalendarWindow,
  type MetricName,
  type Release,
  type ReleasedMetric,
  type ReleasePart,
  type WindowKind,
} from '../../analytics/index.ts';
import { ApiError } from '../errors.ts';
import {
  cohortDistributionsQuery,
  cohortParams,
  cohortTopicsQuery,
  percentilesQuery,
  studentCohortTopicsQuery,
} from '../params.ts';
import { defineRoute, type HandlerContext } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { cohortExists, cohortMembers, cohortsOf } from '../data/cohorts.ts';

/**
 * Cohort v2 (services/analytics/README.md): every figure is read from a frozen release of one fixed calendar window
 * (services/analytics/releases.ts), computed once per (cohort, window) and identical for every later request. The
 * API adds who may ask (membership, educator claims) and the student's own frozen standing. Below k neither the
 * figure nor the group size is returned.
 */

type WindowQuery = { window?: WindowKind; period?: string; days?: number };

/** resolveWindow's refusals of well-formed parameters (RouteSpec.queryRules: stated in the OpenAPI document). */
const WINDOW_RULES = {
  window_conflict: '`days` maps to another window kind than `window`',
  invalid_period: '`period` is not a period of the window kind',
  period_not_complete: '`period` is not complete yet (or within the late-event grace) at the request time',
};

/** The fixed window a request names: `window` (default month) or the one `days` maps to, and `period`. */
export function resolveWindow(q: WindowQuery, now: number): CalendarWindow {
  if (q.window !== undefined && q.days !== undefined && windowKindForDays(q.days) !== q.window) {
    throw new ApiError(
      400,
      'window_conflict',
      `days=${q.days} maps to the ${windowKindForDays(q.days)} window, not ${q.window}`,
      {
        window: q.window,
        days: q.days,
      },
    );
  }
  const kind = q.window ?? (q.days !== undefined ? windowKindForDays(q.days) : 'month');
  const graceMs = cohortEnv.load().COHORT_RELEASE_GRACE_HOURS * 3_600_000;
  if (q.period === undefined) return lastCompleteWindow(kind, now, graceMs);
  const w = parsePeriod(kind, q.period);
  if (w === null) {
    throw new ApiError(400, 'invalid_period', `period is not a ${kind} (2026-W09, 2026-02 or 2026-Q1)`, {
      window: kind,
      period: q.period,
    });
  }
  if (!isReleasable(w, now, graceMs)) {
    throw new ApiError(
      400,
      'period_not_complete',
      'the period is not complete yet (or within the late-event grace)',
      {
        window: kind,
        period: q.period,
        lastComplete: lastCompleteWindow(kind, now, graceMs).period,
      },
    );
  }
  return w;
}

/**
 * The release for a scope; `cohort` null = every active student; null when the cohort does not exist. The members
 * are read only when the release has to be made (services/analytics/releases.ts).
 */
async function releaseFor(
  ctx: Pick<HandlerContext<unknown, unknown>, 'data'>,
  cohort: string | null,
  w: CalendarWindow,
  part: ReleasePart,
): Promise<Release | null> {
  const { data } = ctx;
  if (cohort === null)
    return getRelease(data.pg, data.ch, { kind: 'all' }, async () => undefined, w, data.kAnonymity, part);
  if (!(await cohortExists(data.pg, cohort))) return null;
  const members = async () => (await cohortMembers(data.pg, cohort)) ?? [];
  return getRelease(data.pg, data.ch, { kind: 'cohort', cohort }, members, w, data.kAnonymity, part);
}

const windowView = (w: CalendarWindow) => ({ kind: w.kind, period: w.period, from: w.from, to: w.to });

function metricView(m: ReleasedMetric) {
  return {
    cohortQuantiles: m.quantiles,
    histogram: m.histogram,
    population: m.population,
    suppressed: m.withheld !== null,
    withheld: m.withheld,
  };
}

/** The bin of the released histogram holding `v` (index), or null. */
function binOf(m: ReleasedMetric, v: number | null): number | null {
  if (v === null || m.histogram === null) return null;
  const i = m.histogram.findIndex((b, j) => v < b.to || j === m.histogram!.length - 1);
  return i < 0 ? null : i;
}

const studentAuthorize = async ({
  user,
  query,
  principal,
  data,
}: {
  user: string;
  query: { cohort?: string };
  principal: { role: string };
  data: HandlerContext<unknown, unknown>['data'];
}) => {
  const mine = await cohortsOf(data.pg, user);
  if (query.cohort !== undefined && !mine.includes(query.cohort) && principal.role !== 'admin') {
    throw new ApiError(403, 'forbidden', 'the student is not a member of this cohort');
  }
  return { cohort: query.cohort ?? mine[0] ?? null };
};

const WINDOW_DOC =
  'Window: `window` = week | month | quarter (default month): the last complete ISO week, calendar month or ' +
  'quarter (UTC), complete plus COHORT_RELEASE_GRACE_HOURS for late events; `period` names an earlier complete ' +
  'one. `days` (deprecated) maps to a window: 1-7 week, 8-31 month, 32-365 quarter (with `window`, it must map to ' +
  'the same one: 400 window_conflict). A period that is not complete ' +
  'is refused (400 period_not_complete), a malformed one too (400 invalid_period). Every figure comes from the ' +
  "window's frozen release: the same answer for every request, whatever arrived or changed since. ";

export const percentiles = defineRoute({
  path: '/api/analytics/percentiles',
  queryRules: WINDOW_RULES,
  notFound: 'The cohort does not exist (cohort_not_found)',
  operationId: 'getPercentiles',
  tag: 'student',
  summary: "The student's percentiles and the cohort's distributions (k-anonymous, fixed windows)",
  description:
    "Percentile rank (0-100: share of the cohort below, ties counted half) of the student's accuracy, study minutes " +
    'per week (finished sessions), questions per week, mean mastery and review adherence (`reviewAdherence`: of ' +
    'the reviews the schedule asked for that fell due in the window, the share done within a day of the due day), ' +
    'within `cohort` (one the student belongs to; ' +
    "default their first cohort, or every active student when they have none), beside the cohort's released " +
    'quantiles (means of k order statistics, never the value of fewer than k students; p10/p90 need about 5k ' +
    "students) and histogram (fixed bins merged until each holds k students; `bin` is the student's). " +
    WINDOW_DOC +
    "The population is the cohort's students with activity in the window when it was released; a student outside " +
    'it gets no figure (`inRelease: false`). A metric whose population is below k, or withheld against differencing, ' +
    'has `suppressed: true` and discloses neither quantiles nor population (`withheld: not_computed`: a metric added ' +
    'after the release was made).',
  scope: 'student',
  query: percentilesQuery,
  cache: 'percentiles',
  response: RESPONSES.percentiles,
  // Membership is checked before the cache on every request (a student removed from a cohort is refused at once),
  // and the resolved cohort is part of the cache key (the default follows the student's current cohorts).
  authorize: studentAuthorize,
  handler: async (ctx) => {
    const { user, query, now, authorized, data } = ctx;
    const w = resolveWindow(query, now);
    const cohort = authorized.cohort as string | null;
    const release = await releaseFor(ctx, cohort, w, 'metrics');
    if (release === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
    const b = release.body;
    const standing = b.suppressed ? null : await memberStanding(data.pg, release.id, user);
    const metrics = {} as Record<MetricName, unknown>;
    for (const m of METRICS) {
      const own = standing?.[m] ?? { value: null, percentile: null };
      metrics[m] = {
        value: own.value,
        percentile: own.percentile,
        bin: b.metrics[m].withheld === null ? binOf(b.metrics[m], own.value) : null,
        ...metricView(b.metrics[m]),
      };
    }
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      cohort,
      window: windowView(w),
      from: w.from,
      to: w.to,
      k: b.k,
      releasedAt: release.releasedAt,
      suppressed: b.suppressed,
      inRelease: standing !== null,
      metrics,
    };
  },
});

function topicsView(release: Release, limit: number) {
  const b = release.body;
  const weakPoints = b.topics
    .filter((t) => t.struggling.share !== null && t.struggling.share > 0)
    .sort((x, y) => y.struggling.share! - x.struggling.share! || (x.topicId < y.topicId ? -1 : 1))
    .slice(0, 10)
    .map((t) => ({
      topicId: t.topicId,
      strugglingShare: t.struggling.share!,
      assessed: t.struggling.assessed!,
      sentence: `${Math.round(t.struggling.share! * 100)}% of students struggle with this topic`,
    }));
  return {
    window: windowView(b.window),
    from: b.window.from,
    to: b.window.to,
    k: b.k,
    releasedAt: release.releasedAt,
    cohortSize: b.cohortSize,
    suppressed: b.suppressed,
    withheldTopics: b.withheldTopics,
    topics: b.topics.slice(0, limit).map((t) => ({
      topicId: t.topicId,
      students: t.students,
      questions: t.answers,
      accuracy: t.accuracy,
      firstAttemptAccuracy: t.firstAttemptAccuracy,
      difficulty: t.difficulty,
      strugglingShare: t.struggling.share,
      struggling: t.struggling,
      timeToMastery: t.timeToMastery,
    })),
    weakPoints,
  };
}

const TOPICS_DOC =
  "Per topic over the cohort's students in the window: students who answered, answers, accuracy, first-attempt " +
  'accuracy, difficulty (1 - accuracy), hardest first; the share of students struggling (>= 5 answers, accuracy ' +
  'below 60%: released only when both the struggling and the other assessed students are 0 or at least k); the ' +
  'mean days from first study to mastery (score >= 0.8) of the students who reached it in the window (at least k ' +
  'of them); and `weakPoints`, the topics most students struggle with ("X% of students struggle with this ' +
  'topic"). Topics answered by fewer than k students are withheld (`withheldTopics`); a cohort with fewer than k ' +
  'active students yields nothing (`suppressed: true`, no size). ';

export const cohortTopics = defineRoute({
  path: '/api/analytics/cohorts/:cohort/topics',
  queryRules: WINDOW_RULES,
  notFound: 'The cohort does not exist (cohort_not_found)',
  operationId: 'getCohortTopicDifficulty',
  tag: 'educator',
  summary:
    'Topic difficulty, struggle shares, time to mastery and weak points of a cohort (educators, admins)',
  description: TOPICS_DOC + WINDOW_DOC,
  scope: 'cohort',
  params: cohortParams,
  query: cohortTopicsQuery,
  cache: 'cohort-topics',
  response: RESPONSES.cohortTopics,
  handler: async (ctx) => {
    const { cohort, query, now } = ctx;
    const w = resolveWindow(query, now);
    const release = await releaseFor(ctx, cohort, w, 'topics');
    if (release === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
    return { cohort, generatedAt: new Date(now).toISOString(), ...topicsView(release, query.limit) };
  },
});

export const cohortDistributions = defineRoute({
  path: '/api/analytics/cohorts/:cohort/distributions',
  queryRules: WINDOW_RULES,
  notFound: 'The cohort does not exist (cohort_not_found)',
  operationId: 'getCohortDistributions',
  tag: 'educator',
  summary: "A cohort's distribution curves and quantiles per metric (educators, admins; k-anonymous)",
  description:
    "Accuracy, study minutes per week, questions per week, mean mastery and review adherence over the cohort's " +
    'active students in ' +
    'the window: released quantiles (means of k order statistics, never the value of fewer than k students) and ' +
    'histograms (fixed bins merged until each holds k students). No individual figure. ' +
    WINDOW_DOC,
  scope: 'cohort',
  params: cohortParams,
  query: cohortDistributionsQuery,
  cache: 'cohort-distributions',
  response: RESPONSES.cohortDistributions,
  handler: async (ctx) => {
    const { cohort, query, now } = ctx;
    const w = resolveWindow(query, now);
    const release = await releaseFor(ctx, cohort, w, 'metrics');
    if (release === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
    const b = release.body;
    const metrics = {} as Record<MetricName, unknown>;
    for (const m of METRICS) metrics[m] = metricView(b.metrics[m]);
    return {
      cohort,
      generatedAt: new Date(now).toISOString(),
      window: windowView(w),
      from: w.from,
      to: w.to,
      k: b.k,
      releasedAt: release.releasedAt,
      cohortSize: b.cohortSize,
      suppressed: b.suppressed,
      metrics,
    };
  },
});

export const studentCohortTopics = defineRoute({
  path: '/api/analytics/cohort-topics',
  queryRules: WINDOW_RULES,
  notFound: 'The cohort does not exist (cohort_not_found)',
  operationId: 'getStudentCohortTopics',
  tag: 'student',
  summary: "The student's cohort: weak points, struggle shares and time to mastery per topic (k-anonymous)",
  description:
    'The same released aggregates as the educator view of `/api/analytics/cohorts/{cohort}/topics`, for a cohort ' +
    'the student belongs to (default their first, else every active student). ' +
    TOPICS_DOC +
    WINDOW_DOC,
  scope: 'student',
  query: studentCohortTopicsQuery,
  cache: 'student-cohort-topics',
  response: RESPONSES.studentCohortTopics,
  authorize: studentAuthorize,
  handler: async (ctx) => {
    const { user, query, now, authorized } = ctx;
    const w = resolveWindow(query, now);
    const cohort = authorized.cohort as string | null;
    const release = await releaseFor(ctx, cohort, w, 'topics');
    if (release === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
    return { user, cohort, generatedAt: new Date(now).toISOString(), ...topicsView(release, query.limit) };
  },
});
