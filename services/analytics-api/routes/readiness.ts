import { recallAt } from '../../domain/mastery.ts';
import {
  daysUntilReady,
  INTERVAL_LEVEL,
  modelOf,
  predictWithIntervals,
  readinessFeatures,
  weakSections,
  type ReadinessActivity,
  type ReadinessLeaf,
} from '../../domain/readiness.ts';
import { loadReadinessArtifact } from '../../readiness/index.ts';
import { ApiError } from '../errors.ts';
import { examReadinessQuery } from '../params.ts';
import { defineRoute, type DataDeps } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { round, utcDay } from '../compute.ts';
import {
  examGraph,
  examLeafRows,
  studyTotals,
  type ExamGraph,
  type ExamLeafRow,
  type StudyTotals,
} from '../data/exam.ts';
import { masteryNow } from '../data/mastery.ts';

const DAY_MS = 86_400_000;

/** The readiness inputs of one student: every exam leaf at the exam date, and the study totals. */
export function readinessInputs(
  exam: ExamGraph,
  rows: readonly ExamLeafRow[],
  totals: StudyTotals,
  now: number,
  examMs: number,
): { leaves: ReadinessLeaf[]; activity: ReadinessActivity } {
  const byId = new Map(rows.map((r) => [r.topicId, r]));
  const leaves = exam.leaves.map((leaf): ReadinessLeaf => {
    const r = byId.get(leaf.id);
    if (!r) {
      return {
        topicId: leaf.id,
        system: leaf.system,
        share: leaf.share,
        studied: false,
        score: 0,
        attempts: 0,
        correct: 0,
        recallAtExam: 0,
      };
    }
    const recallAtExam = r.recall ? recallAt(r.recall, examMs) : r.retrievalStrength;
    return {
      topicId: leaf.id,
      system: leaf.system,
      share: leaf.share,
      studied: true,
      score: masteryNow(r, now)?.score ?? r.score,
      attempts: r.attempts,
      correct: r.correct,
      recallAtExam,
    };
  });
  const examDay = utcDay(examMs - 1);
  const daysSinceStart =
    totals.firstDay === null
      ? 0
      : Math.max(
          0,
          Math.round(
            (Date.parse(`${examDay}T00:00:00Z`) - Date.parse(`${totals.firstDay}T00:00:00Z`)) / DAY_MS,
          ),
        );
  return {
    leaves,
    activity: {
      questions: totals.questions,
      correct: totals.correct,
      firstAttempts: totals.firstAttempts,
      firstAttemptCorrect: totals.firstAttemptCorrect,
      questions30d: totals.questions30d,
      correct30d: totals.correct30d,
      activeMinutes: totals.activeMinutes,
      daysSinceStart,
    },
  };
}

export const examReadiness = defineRoute({
  path: '/api/analytics/exam-readiness',
  operationId: 'getExamReadiness',
  tag: 'student',
  summary: 'Exam readiness: predicted score and pass probability with intervals, coverage, weak sections',
  description:
    'Predicted by the trained readiness model (models/readiness.json; `model.version` names the artifact, retrained ' +
    'by `studystream train-readiness` or the retrain job) from the seed features (mastery, topics mastered and ' +
    'weak, 30-day accuracy, study minutes, first-attempt accuracy, questions, days since start) and the structural ' +
    'projection Σ exam share x P(correct at the exam date). `readiness` = 100 x pass probability. predictedScore ' +
    'is the expected share correct with a 90% interval (split-conformal on the validation seed); passProbability ' +
    '(pass at `passMark`) has the 90% Wilson interval of the observed pass rate of validation students with a ' +
    'similar prediction. topicCoverage: exam share of the studied leaf topics. weakAreas: exam sections (systems) ' +
    'below 0.5 share-weighted mastery, costliest first. daysUntilReady: days until the pass probability reaches ' +
    '0.8 at the current pace (null beyond a year; 0 when ready). `examDate` (default today) decays recall to that day.',
  scope: 'student',
  reads: 'replica',
  query: examReadinessQuery,
  cache: 'exam-readiness',
  response: RESPONSES.examReadiness,
  handler: ({ user, query, data, now }) => studentReadiness(data, user, now, query.examDate),
});

/** The exam-readiness body of one student (the endpoint's handler; the nightly snapshot job). */
export async function studentReadiness(data: DataDeps, user: string, now: number, examDate?: string) {
  const today = utcDay(now);
  const examDay = examDate ?? today;
  if (examDay < today)
    throw new ApiError(400, 'invalid_parameter', 'examDate must be today or later', { examDate: examDay });
  // The exam is taken at the end of its day (the simulator's truth: after the last study day).
  const examMs = Math.max(now, Date.parse(`${examDay}T00:00:00Z`) + DAY_MS);
  const [artifact, exam, rows, totals] = await Promise.all([
    loadReadinessArtifact(),
    examGraph(data.pg, now),
    examLeafRows(data.pg, user),
    studyTotals(data.pg, user, today),
  ]);
  const model = modelOf(artifact);
  const { leaves, activity } = readinessInputs(exam, rows, totals, now, examMs);
  const features = readinessFeatures(leaves, activity);
  const [p] = predictWithIntervals(model, [features], artifact.passMark);
  const prediction = p!;
  const ready = daysUntilReady(model, features, activity, artifact.passMark);
  return {
    user,
    generatedAt: new Date(now).toISOString(),
    model: { name: model.name, version: artifact.version, trainedAt: artifact.trainedAt },
    examDate: examDay,
    readiness: Math.round(prediction.pass * 100),
    predictedScore: {
      value: round(prediction.score),
      lower: round(prediction.scoreLower),
      upper: round(prediction.scoreUpper),
      level: INTERVAL_LEVEL,
    },
    passProbability: {
      value: round(prediction.pass),
      lower: round(prediction.passLower),
      upper: round(prediction.passUpper),
      level: INTERVAL_LEVEL,
    },
    passMark: artifact.passMark,
    topicCoverage: round(features.coverage),
    weakAreas: weakSections(leaves).map((s) => ({
      system: s.system,
      name: exam.systems.get(s.system) ?? s.system,
      examShare: round(s.examShare),
      mastery: round(s.mastery),
      coverage: round(s.coverage),
    })),
    daysUntilReady: ready,
    features: Object.fromEntries(Object.entries(features).map(([k, v]) => [k, round(v)])),
  };
}
