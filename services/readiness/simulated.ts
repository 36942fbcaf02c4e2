/**
 * A simulated cohort as the API would see it at the exam date, without Kafka or any store: the simulator's events
 * are replayed per student in event-time order through the mastery processor's own row step
 * (services/domain/topic-mastery.ts, as services/eval/evaluate.ts does), and the per-student study totals are the
 * sums the ClickHouse rollups keep (questions, correct, first attempts, answer + material active time). Each
 * student comes with the simulator's truth: exam score and pass, and per topic the true ability and recall.
 */
import { computeMastery } from '../domain/mastery.ts';
import { fsrsRecallProbability } from '../domain/fsrs.ts';
import type { ReadinessActivity, ReadinessLeaf } from '../domain/readiness.ts';
import { TOPICS } from '../domain-data/taxonomy.ts';
import { simulateCohort, simOptions } from '../simulator/index.ts';
import { MODEL, pCorrect } from '../simulator/index.ts';
import type { StudentTruth } from '../simulator/index.ts';
import {
  applyTopicEventInPlace,
  emptyTopicMastery,
  type TopicMasteryState,
  type TopicEvent,
} from '../domain/topic-mastery.ts';

const DAY_MS = 86_400_000;
const LATENESS_MS = 3_600_000;

export type SimulatedStudent = {
  userId: string;
  leaves: ReadinessLeaf[];
  /** Per leaf: material completion and recent accuracy (the gap inputs besides the score). */
  gapInputs: Array<{
    topicId: string;
    masteryScore: number;
    recentAccuracy: number | null;
    materialCompletion: number;
  }>;
  activity: ReadinessActivity;
  /** Mean answer time, minutes per question (null without answers). */
  minutesPerQuestion: number | null;
  examScore: number;
  pass: boolean;
  /** True exam points recoverable per leaf: share x (1 - P(correct on an exam item at the exam)). */
  recoverable: Map<string, number>;
};

export type CohortSpec = { seed: string; students: number; days: number };

type Acc = {
  events: Array<{ topicIds: string[]; e: TopicEvent }>;
  questions: number;
  correct: number;
  firstAttempts: number;
  firstAttemptCorrect: number;
  answerMs: number;
  activeMs: number;
  q30: number;
  c30: number;
  firstAt: number;
};

export function simulateForReadiness(spec: CohortSpec): SimulatedStudent[] {
  const opts = simOptions({ ...spec, offlineRate: 0, duplicateRate: 0, startMs: Date.UTC(2025, 0, 6) });
  const examMs = opts.startMs + spec.days * DAY_MS;
  const from30 = examMs - 30 * DAY_MS;
  const leaves = TOPICS.filter((t) => t.level === 2);
  const acc = new Map<string, Acc>();
  const truths: StudentTruth[] = [];
  const seen = new Set<string>();
  for (const item of simulateCohort(opts)) {
    if (item.kind === 'truth') {
      if (item.truth.type === 'student') truths.push(item.truth);
      continue;
    }
    for (const { family, record: r } of item.batch.events) {
      if (seen.has(r.event_id)) continue;
      seen.add(r.event_id);
      let a = acc.get(r.user_id);
      if (!a) {
        a = {
          events: [],
          questions: 0,
          correct: 0,
          firstAttempts: 0,
          firstAttemptCorrect: 0,
          answerMs: 0,
          activeMs: 0,
          q30: 0,
          c30: 0,
          firstAt: Infinity,
        };
        acc.set(r.user_id, a);
      }
      a.firstAt = Math.min(a.firstAt, r.occurred_at);
      const topicIds = (r.topic_ids as string[] | undefined) ?? [];
      if (family === 'question-attempts') {
        const correct = r.is_correct as boolean;
        a.questions++;
        if (correct) a.correct++;
        if (r.attempt_number === 1) {
          a.firstAttempts++;
          if (correct) a.firstAttemptCorrect++;
        }
        a.answerMs += r.time_to_answer_ms as number;
        a.activeMs += r.time_to_answer_ms as number;
        if (r.occurred_at >= from30) {
          a.q30++;
          if (correct) a.c30++;
        }
        a.events.push({
          topicIds,
          e: {
            at: r.occurred_at,
            id: r.event_id,
            answer: {
              correct,
              attemptNumber: r.attempt_number as number,
              responseTimeMs: r.time_to_answer_ms as number,
              answered: r.selected_answer !== null,
            },
          },
        });
      } else if (family === 'material-interactions') {
        if (typeof r.active_ms === 'number') a.activeMs += r.active_ms;
        if (typeof r.progress === 'number')
          a.events.push({
            topicIds,
            e: {
              at: r.occurred_at,
              id: r.event_id,
              material: { materialId: r.material_id as string, progress: r.progress },
            },
          });
      }
    }
  }
  seen.clear();
  return truths.map((truth) => {
    const a = acc.get(truth.user_id);
    const rows = new Map<string, TopicMasteryState>();
    if (a) {
      a.events.sort((x, y) => x.e.at - y.e.at || (x.e.id < y.e.id ? -1 : 1));
      for (const { topicIds, e } of a.events) {
        for (const topicId of topicIds) {
          let row = rows.get(topicId);
          if (!row) rows.set(topicId, (row = emptyTopicMastery()));
          applyTopicEventInPlace(row, e, LATENESS_MS, 'fsrs');
        }
      }
      a.events = [];
    }
    const readinessLeaves: ReadinessLeaf[] = [];
    const gapInputs: SimulatedStudent['gapInputs'] = [];
    const recoverable = new Map<string, number>();
    for (const leaf of leaves) {
      const row = rows.get(leaf.id);
      const m = row ? computeMastery(row.visible, examMs, { scheduler: 'fsrs' }) : null;
      readinessLeaves.push({
        topicId: leaf.id,
        system: leaf.system,
        share: leaf.boardWeight,
        studied: row !== undefined,
        score: m?.score ?? 0,
        attempts: row?.visible.attempts ?? 0,
        correct: row?.visible.correct ?? 0,
        recallAtExam: row ? fsrsRecallProbability(row.visible.fsrs ?? undefined, examMs) : 0,
      });
      gapInputs.push({
        topicId: leaf.id,
        masteryScore: m?.score ?? 0,
        recentAccuracy: m?.recentAccuracy ?? null,
        materialCompletion: row?.visible.materialCompletion ?? 0,
      });
      const t = truth.topics[leaf.id];
      const p = t ? pCorrect({ a: 1, b: MODEL.examItemDifficulty }, t.theta_final, t.recall_final, 0) : 0;
      recoverable.set(leaf.id, leaf.boardWeight * (1 - p));
    }
    const activity: ReadinessActivity = {
      questions: a?.questions ?? 0,
      correct: a?.correct ?? 0,
      firstAttempts: a?.firstAttempts ?? 0,
      firstAttemptCorrect: a?.firstAttemptCorrect ?? 0,
      questions30d: a?.q30 ?? 0,
      correct30d: a?.c30 ?? 0,
      activeMinutes: (a?.activeMs ?? 0) / 60_000,
      daysSinceStart: a && Number.isFinite(a.firstAt) ? Math.floor((examMs - 1 - a.firstAt) / DAY_MS) : 0,
    };
    return {
      userId: truth.user_id,
      leaves: readinessLeaves,
      gapInputs,
      activity,
      minutesPerQuestion: a && a.questions > 0 ? a.answerMs / a.questions / 60_000 : null,
      examScore: truth.exam.score,
      pass: truth.exam.pass,
      recoverable,
    };
  });
}
