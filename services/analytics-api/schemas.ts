import { z } from 'zod';

/**
 * The 200 bodies of the analytics API as zod schemas: the single source of the response contract. The OpenAPI
 * document's response schemas are generated from these (openapi.ts, zod's toJSONSchema), and the contract test checks
 * every answer of the running API against that document (test/integration/api/openapi-contract.test.ts). Every field
 * listed is always sent (required) unless marked optional; objects may carry further fields (loose), so a new field
 * is an addition, never a break. Nullable fields are sent as null, never left out.
 */

const obj = <S extends Record<string, z.ZodType>>(shape: S) => z.looseObject(shape);
const num = z.number();
const numOrNull = z.number().nullable();
const str = z.string();
const strOrNull = z.string().nullable();
const int = z.int();
const intOrNull = z.int().nullable();
const bool = z.boolean();
const arr = <T extends z.ZodType>(items: T) => z.array(items);
const head = { user: str, generatedAt: z.iso.datetime() };

const window = obj({
  studyMinutes: num,
  activeMinutes: num,
  sessions: int,
  questions: int,
  correct: int,
  accuracy: numOrNull,
  firstAttempts: int,
  firstAttemptCorrect: int,
  materials: int,
});

const live = obj({
  sessionId: str,
  status: z.enum(['active', 'paused', 'ended']),
  startedAt: str,
  lastEventAt: str,
  activeMs: int,
  idleMs: int,
  pauseCount: int,
  focusScore: numOrNull,
  questionsAnswered: int,
  questionsCorrect: int,
}).nullable();

/** A probability with its 95% interval, or null. */
const probability = (description: string) =>
  obj({ value: num, lower: num, upper: num, level: num }).nullable().describe(description);

const trend = z.enum(['improving', 'stable', 'declining', 'insufficient_data']).nullable();

/** A mastery entry (routes/mastery.ts masteryEntry): the list's entries (trimmed by `fields`) and the topic view's. */
const masteryEntryShape = {
  topicId: str,
  name: str,
  level: int,
  parentId: strOrNull,
  boardWeight: num,
  score: num,
  interval: obj({ lower: num, upper: num, level: num }),
  trend,
  attempts: int,
  correct: int,
  accuracy: numOrNull,
  firstAttemptAccuracy: numOrNull,
  recentAccuracy: numOrNull,
  retrievalStrength: num,
  materialCompletion: num,
  pCorrect: probability(
    'Learner model v2: probability of answering a question of average difficulty on the topic correctly, as of ' +
      'asOf (leaves: ability posterior, item difficulty, forgetting; parents: board-weighted roll-up), with its 95% interval',
  ),
  pCorrectNow: probability(
    'pCorrect recomputed at request time for leaf topics (forgetting since the last activity lowers it); null on ' +
      'parents and rows without a learner state',
  ),
  asOf: strOrNull,
  now: obj({ retrievalStrength: num, score: num }).nullable(),
  nextReviewAt: strOrNull,
  scheduler: strOrNull,
};
const masteryTopicView = obj(masteryEntryShape);

const quantilesOrNull = obj({
  p10: numOrNull,
  p25: numOrNull,
  p50: numOrNull,
  p75: numOrNull,
  p90: numOrNull,
}).nullable();
const histogramOrNull = arr(obj({ from: num, to: num, students: int })).nullable();
const withheld = z
  .enum(['fewer_than_k', 'differencing', 'fewer_than_k_each_side', 'not_computed'])
  .nullable();
const distribution = {
  cohortQuantiles: quantilesOrNull,
  histogram: histogramOrNull,
  population: intOrNull,
  suppressed: bool,
  withheld,
};
const metric = obj({
  value: numOrNull,
  percentile: numOrNull,
  bin: intOrNull,
  ...distribution,
});
const cohortWindow = obj({ kind: z.enum(['week', 'month', 'quarter']), period: str, from: str, to: str });
const cohortMetrics = <T extends z.ZodType>(m: T) =>
  obj({ accuracy: m, studyMinutesPerWeek: m, questionsPerWeek: m, mastery: m, reviewAdherence: m });
/** What every cohort v2 answer says about its release. */
const cohortRelease = {
  window: cohortWindow,
  from: str,
  to: str,
  k: int,
  releasedAt: str,
  cohortSize: intOrNull,
  suppressed: bool,
};
const cohortTopicList = {
  ...cohortRelease,
  withheldTopics: int,
  topics: arr(
    obj({
      topicId: str,
      students: int,
      questions: int,
      accuracy: num,
      firstAttemptAccuracy: numOrNull,
      difficulty: num,
      strugglingShare: numOrNull,
      struggling: obj({ share: numOrNull, assessed: intOrNull, withheld }),
      timeToMastery: obj({ meanDays: numOrNull, students: intOrNull, withheld }),
    }),
  ),
  weakPoints: arr(obj({ topicId: str, strugglingShare: num, assessed: int, sentence: str })),
};
const topicScore = obj({ topicId: str, name: str, score: num, pCorrect: numOrNull, trend: strOrNull });
const interval = obj({ value: num, lower: num, upper: num, level: num });

export const RESPONSES = {
  dashboard: obj({
    ...head,
    mastery: obj({
      topicsStudied: int,
      averageScore: numOrNull,
      averagePCorrect: numOrNull,
      attempts: int,
      bands: obj({ mastered: int, developing: int, weak: int }),
      trends: obj({ improving: int, stable: int, declining: int, insufficient_data: int }),
      weakest: arr(topicScore),
      strongest: arr(topicScore),
      systems: arr(obj({ topicId: str, name: str, score: num, pCorrect: numOrNull, attempts: int })),
    }),
    study: obj({ today: window, last7Days: window, last30Days: window }),
    streak: obj({ current: int, longest: int, lastActiveDay: strOrNull }),
    reviews: obj({ dueNow: int, dueNext7Days: int, next: arr(obj({ topicId: str, nextReviewAt: str })) }),
    liveSession: live,
    liveSessionAvailable: bool,
  }),
  masteryList: obj({
    ...head,
    // `fields` trims the entries to the named fields; topicId is always sent.
    topics: arr(
      obj({ ...masteryEntryShape })
        .partial()
        .required({ topicId: true }),
    ),
    nextCursor: strOrNull.describe(
      'pass as `cursor` for the next page; null when this page holds the last entry',
    ),
  }),
  masteryTopic: obj({
    ...head,
    topic: obj({ id: str, name: str, level: int, parentId: strOrNull, boardWeight: num }),
    mastery: masteryTopicView.nullable(),
    nextReviewAt: strOrNull,
    history: arr(obj({ day: str, score: num, lower: num, upper: num, attempts: int, accuracy: numOrNull })),
    daily: arr(obj({ day: str, questions: int, correct: int, accuracy: numOrNull })),
    subTopics: arr(obj({ topicId: str, name: str, studied: bool, score: numOrNull })),
  }),
  reviews: obj({
    ...head,
    due: obj({ count: int, topics: arr(obj({ topicId: str, name: str, nextReviewAt: str, score: num })) }),
    upcoming: obj({ count: int, days: int, topics: arr(obj({ topicId: str, nextReviewAt: str })) }),
    calendar: arr(obj({ day: str, count: int })),
  }),
  studyPatterns: obj({
    ...head,
    from: str,
    to: str,
    heatmap: arr(obj({ weekday: int, hour: int, events: int, questions: int, activeMinutes: num })),
    peakHours: arr(obj({ weekday: int, hour: int, questions: int })),
    localTime: obj({
      fallbackFor: strOrNull,
      fallbackOffsetMinutes: int,
      fallbackSource: z.enum(['latest-known-zone', 'utc']),
    }),
    sessionLengths: obj({
      sessions: int,
      medianMinutes: numOrNull,
      meanMinutes: numOrNull,
      buckets: arr(obj({})),
    }),
    efficiency: obj({
      questions: int,
      activeMinutes: num,
      questionsPerActiveHour: numOrNull,
      accuracy: numOrNull,
      meanFocusScore: numOrNull,
      activeShare: numOrNull,
      activeDays: int,
    }),
    velocity: obj({
      weeks: arr(obj({ week: str, questions: int, accuracy: numOrNull })),
      questionsPerWeekSlope: numOrNull,
    }),
  }),
  insights: obj({
    ...head,
    from: str,
    to: str,
    answers: int,
    method: obj({ test: str, fdr: str, q: num, minimumPerGroup: int, minimumEffect: num }),
    insights: arr(
      obj({
        kind: z.enum([
          'best-time-of-day',
          'ideal-session-length',
          'break-fatigue',
          'notes-recall',
          'consistency',
        ]),
        status: z.enum(['stated', 'not-enough-evidence', 'not-enough-data']),
        title: str,
        sentence: str,
        evidence: str,
        group: obj({ label: str, answers: int, correct: int, accuracy: numOrNull }),
        comparison: obj({ label: str, answers: int, correct: int, accuracy: numOrNull }),
        effect: numOrNull,
        ci95: arr(num).nullable(),
        pValue: numOrNull,
        qValue: numOrNull,
      }),
    ),
  }),
  sessions: obj({
    ...head,
    recent: arr(obj({ sessionId: str, startedAt: str, durationMs: int })),
    live,
    liveAvailable: bool,
  }),
  percentiles: obj({
    ...head,
    cohort: strOrNull,
    window: cohortWindow,
    from: str,
    to: str,
    k: int,
    releasedAt: str,
    suppressed: bool,
    inRelease: bool,
    metrics: cohortMetrics(metric),
  }),
  studentCohortTopics: obj({ ...head, cohort: strOrNull, ...cohortTopicList }),
  cohortTopics: obj({ cohort: str, generatedAt: str, ...cohortTopicList }),
  cohortDistributions: obj({
    cohort: str,
    generatedAt: str,
    ...cohortRelease,
    metrics: cohortMetrics(obj(distribution)),
  }),
  knowledgeGaps: obj({
    ...head,
    weightScale: str,
    minutesPerQuestion: num,
    paceSource: z.enum(['student', 'cohort', 'default']),
    counts: obj({ critical: int, high: int, medium: int, low: int }),
    totalHoursToClose: num,
    gaps: arr(
      obj({
        topicId: str,
        name: str,
        system: str,
        studied: bool,
        mastery: num,
        gapScore: num,
        boardWeight: num,
        examShare: num,
        prerequisiteImpact: num,
        recentFailureRate: num,
        priorityScore: num,
        severity: z.enum(['critical', 'high', 'medium', 'low']),
        questionsToClose: int,
        hoursToClose: num,
        prerequisiteFor: int,
        prerequisites: arr(str),
      }),
    ),
    learningPath: arr(
      obj({
        step: int,
        topicId: str,
        name: str,
        severity: str,
        hoursToClose: num,
        materials: arr(obj({ materialId: str, progress: num })),
      }),
    ),
    recommendations: arr(str),
  }),
  cohortGaps: obj({
    cohort: str,
    generatedAt: str,
    k: int,
    cohortSize: intOrNull,
    suppressed: bool,
    topics: arr(
      obj({
        topicId: str,
        name: str,
        meanMastery: num,
        studiedShare: num,
        gapShare: num,
        priorityScore: num,
        severity: str,
        prerequisiteFor: int,
      }),
    ),
  }),
  examReadiness: obj({
    ...head,
    model: obj({ name: str, version: str, trainedAt: str }),
    examDate: str,
    readiness: num,
    predictedScore: interval,
    passProbability: interval,
    passMark: num,
    topicCoverage: num,
    weakAreas: arr(obj({ system: str, name: str, examShare: num, mastery: num, coverage: num })),
    daysUntilReady: intOrNull,
    features: z.record(z.string(), z.unknown()),
  }),
} satisfies Record<string, z.ZodType>;
