/** JSON schemas of the 200 bodies, for the OpenAPI document (top-level shape; details in each description). */

const obj = (properties: Record<string, unknown>, description?: string) => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
});
const num = { type: 'number' };
const numOrNull = { type: ['number', 'null'] };
const str = { type: 'string' };
const strOrNull = { type: ['string', 'null'] };
const int = { type: 'integer' };
const arr = (items: unknown) => ({ type: 'array', items });
const head = { user: str, generatedAt: { type: 'string', format: 'date-time' } };

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

const live = {
  type: ['object', 'null'],
  properties: {
    sessionId: str,
    status: { enum: ['active', 'paused', 'ended'] },
    startedAt: str,
    lastEventAt: str,
    activeMs: int,
    idleMs: int,
    pauseCount: int,
    focusScore: numOrNull,
    questionsAnswered: int,
    questionsCorrect: int,
  },
};

/** A probability with its 95% interval, or null. */
const probability = (description: string) => ({
  type: ['object', 'null'],
  description,
  properties: { value: num, lower: num, upper: num, level: num },
});

const masteryTopicView = obj({
  topicId: str,
  name: str,
  level: int,
  parentId: strOrNull,
  boardWeight: num,
  score: num,
  interval: obj({ lower: num, upper: num, level: num }),
  trend: { type: ['string', 'null'], enum: ['improving', 'stable', 'declining', 'insufficient_data', null] },
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
  now: { type: ['object', 'null'], properties: { retrievalStrength: num, score: num } },
  nextReviewAt: strOrNull,
  scheduler: strOrNull,
});

const quantilesOrNull = {
  type: ['object', 'null'],
  properties: { p10: numOrNull, p25: numOrNull, p50: numOrNull, p75: numOrNull, p90: numOrNull },
};
const histogramOrNull = { type: ['array', 'null'], items: obj({ from: num, to: num, students: int }) };
const withheld = { enum: [null, 'fewer_than_k', 'differencing', 'fewer_than_k_each_side', 'not_computed'] };
const distribution = {
  cohortQuantiles: quantilesOrNull,
  histogram: histogramOrNull,
  population: { type: ['integer', 'null'] },
  suppressed: { type: 'boolean' },
  withheld,
};
const metric = obj({
  value: numOrNull,
  percentile: numOrNull,
  bin: { type: ['integer', 'null'] },
  ...distribution,
});
const cohortWindow = obj({ kind: { enum: ['week', 'month', 'quarter'] }, period: str, from: str, to: str });
const cohortMetrics = <T>(m: T) =>
  obj({ accuracy: m, studyMinutesPerWeek: m, questionsPerWeek: m, mastery: m, reviewAdherence: m });
/** What every cohort v2 answer says about its release. */
const cohortRelease = {
  window: cohortWindow,
  from: str,
  to: str,
  k: int,
  releasedAt: str,
  cohortSize: { type: ['integer', 'null'] },
  suppressed: { type: 'boolean' },
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
      struggling: obj({ share: numOrNull, assessed: { type: ['integer', 'null'] }, withheld }),
      timeToMastery: obj({ meanDays: numOrNull, students: { type: ['integer', 'null'] }, withheld }),
    }),
  ),
  weakPoints: arr(obj({ topicId: str, strugglingShare: num, assessed: int, sentence: str })),
};

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
      weakest: arr(obj({ topicId: str, name: str, score: num, pCorrect: numOrNull, trend: strOrNull })),
      strongest: arr(obj({ topicId: str, name: str, score: num, pCorrect: numOrNull, trend: strOrNull })),
      systems: arr(obj({ topicId: str, name: str, score: num, pCorrect: numOrNull, attempts: int })),
    }),
    study: obj({ today: window, last7Days: window, last30Days: window }),
    streak: obj({ current: int, longest: int, lastActiveDay: strOrNull }),
    reviews: obj({ dueNow: int, dueNext7Days: int, next: arr(obj({ topicId: str, nextReviewAt: str })) }),
    liveSession: live,
    liveSessionAvailable: { type: 'boolean' },
  }),
  masteryList: obj({
    ...head,
    topics: arr(masteryTopicView),
    nextCursor: {
      type: ['string', 'null'],
      description: 'pass as `cursor` for the next page; null when this page holds the last entry',
    },
  }),
  masteryTopic: obj({
    ...head,
    topic: obj({ id: str, name: str, level: int, parentId: strOrNull, boardWeight: num }),
    mastery: { ...masteryTopicView, type: ['object', 'null'] },
    nextReviewAt: strOrNull,
    history: arr(obj({ day: str, score: num, lower: num, upper: num, attempts: int, accuracy: numOrNull })),
    daily: arr(obj({ day: str, questions: int, correct: int, accuracy: numOrNull })),
    subTopics: arr(obj({ topicId: str, name: str, studied: { type: 'boolean' }, score: numOrNull })),
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
      fallbackFor: { type: ['string', 'null'] },
      fallbackOffsetMinutes: int,
      fallbackSource: { enum: ['latest-known-zone', 'utc'] },
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
        kind: {
          enum: ['best-time-of-day', 'ideal-session-length', 'break-fatigue', 'notes-recall', 'consistency'],
        },
        status: { enum: ['stated', 'not-enough-evidence', 'not-enough-data'] },
        title: str,
        sentence: str,
        evidence: str,
        group: obj({ label: str, answers: int, correct: int, accuracy: numOrNull }),
        comparison: obj({ label: str, answers: int, correct: int, accuracy: numOrNull }),
        effect: numOrNull,
        ci95: { type: ['array', 'null'], items: num },
        pValue: numOrNull,
        qValue: numOrNull,
      }),
    ),
  }),
  sessions: obj({
    ...head,
    recent: arr(obj({ sessionId: str, startedAt: str, durationMs: int })),
    live,
    liveAvailable: { type: 'boolean' },
  }),
  percentiles: obj({
    ...head,
    cohort: strOrNull,
    window: cohortWindow,
    from: str,
    to: str,
    k: int,
    releasedAt: str,
    suppressed: { type: 'boolean' },
    inRelease: { type: 'boolean' },
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
    paceSource: { enum: ['student', 'cohort', 'default'] },
    counts: obj({ critical: int, high: int, medium: int, low: int }),
    totalHoursToClose: num,
    gaps: arr(
      obj({
        topicId: str,
        name: str,
        system: str,
        studied: { type: 'boolean' },
        mastery: num,
        gapScore: num,
        boardWeight: num,
        examShare: num,
        prerequisiteImpact: num,
        recentFailureRate: num,
        priorityScore: num,
        severity: { enum: ['critical', 'high', 'medium', 'low'] },
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
    cohortSize: { type: ['integer', 'null'] },
    suppressed: { type: 'boolean' },
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
    predictedScore: obj({ value: num, lower: num, upper: num, level: num }),
    passProbability: obj({ value: num, lower: num, upper: num, level: num }),
    passMark: num,
    topicCoverage: num,
    weakAreas: arr(obj({ system: str, name: str, examShare: num, mastery: num, coverage: num })),
    daysUntilReady: { type: ['integer', 'null'] },
    features: { type: 'object' },
  }),
};
