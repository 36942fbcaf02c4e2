/**
 * Model-quality evaluation on the simulator's ground truth (a held-out cohort: its seed is used for nothing else).
 *
 * The cohort's events are replayed in event-time order through the mastery processor's own row step
 * (services/stream/mastery/row.ts), so what is measured is what the processor stores. Before each answer, every
 * estimator predicts it:
 * - next-answer prediction (answers with at least one earlier answer on the topic): the seed mastery score (with
 *   FSRS or SM-2 retrieval strength) against alternatives (overall accuracy, Laplace-smoothed accuracy, recent
 *   accuracy, each scheduler's recall probability alone); AUC and log loss;
 * - recall prediction (reviews: answers at least 12 h after the previous answer on the topic, the case a
 *   scheduler is for): each scheduler's recall probability against the outcome; log loss, Brier, calibration
 *   (ECE and buckets), and mean absolute error against the simulator's true retrievability.
 */
import { computeMastery } from '../domain/mastery.ts';
import { fsrsRecallProbability } from '../domain/fsrs.ts';
import { sm2RecallProbability } from '../domain/sm2.ts';
import { simulateCohort, simOptions } from '../simulator/cohort.ts';
import type { AttemptTruth } from '../simulator/types.ts';
import { applyToOwnedRow, emptyRow, type MasteryRowState, type RowEvent } from '../stream/mastery/row.ts';
import { auc, brier, calibration, ece, logLoss, type Bucket, type Prediction } from './metrics.ts';

export const HOLDOUT_SEED = 'eval-holdout-2025';
const REVIEW_GAP_MS = 12 * 3_600_000;
const LATENESS_MS = 3_600_000;

export type EvalOptions = { seed: string | number; students: number; days: number };

export type EstimatorScore = { name: string; n: number; auc: number; logLoss: number; brier: number };
export type SchedulerScore = EstimatorScore & { ece: number; maeTrueRecall: number; buckets: Bucket[] };
export type EvalReport = {
  options: EvalOptions;
  answers: number;
  nextAnswer: EstimatorScore[];
  recall: SchedulerScore[];
  winner: 'fsrs' | 'sm2';
};

type Estimator = { name: string; predict: (row: MasteryRowState, at: number) => number };

const ESTIMATORS: Estimator[] = [
  {
    name: 'seed formula (FSRS retrieval)',
    predict: (r, at) => computeMastery(r.visible, at, { scheduler: 'fsrs' }).score,
  },
  {
    name: 'seed formula (SM-2 retrieval)',
    predict: (r, at) => computeMastery(r.visible, at, { scheduler: 'sm2' }).score,
  },
  { name: 'overall accuracy', predict: (r) => r.visible.correct / Math.max(1, r.visible.attempts) },
  {
    name: 'smoothed accuracy (c+1)/(n+2)',
    predict: (r) => (r.visible.correct + 1) / (r.visible.attempts + 2),
  },
  {
    name: 'recent accuracy (last 10)',
    predict: (r, at) => computeMastery(r.visible, at).recentAccuracy ?? 0.5,
  },
  {
    name: 'FSRS recall probability',
    predict: (r, at) => fsrsRecallProbability(r.visible.fsrs ?? undefined, at),
  },
  {
    name: 'SM-2 recall probability',
    predict: (r, at) => sm2RecallProbability(r.visible.sm2 ?? undefined, at),
  },
];

export function evaluate(options: EvalOptions): EvalReport {
  const truth = new Map<string, AttemptTruth>();
  const events: Array<{ userId: string; topicIds: string[]; e: RowEvent }> = [];
  const seen = new Set<string>();
  for (const item of simulateCohort(simOptions({ ...options, offlineRate: 0, duplicateRate: 0 }))) {
    if (item.kind === 'truth') {
      if (item.truth.type === 'attempt')
        truth.set(`${item.truth.event_id}|${item.truth.topic_id}`, item.truth);
      continue;
    }
    for (const { family, record: r } of item.batch.events) {
      if (seen.has(r.event_id)) continue;
      seen.add(r.event_id);
      const topicIds = (r.topic_ids as string[] | undefined) ?? [];
      if (family === 'question-attempts')
        events.push({
          userId: r.user_id,
          topicIds,
          e: {
            at: r.occurred_at,
            id: r.event_id,
            a: {
              correct: r.is_correct as boolean,
              attemptNumber: r.attempt_number as number,
              responseTimeMs: r.time_to_answer_ms as number,
              answered: r.selected_answer !== null,
            },
          },
        });
      else if (family === 'material-interactions' && typeof r.progress === 'number')
        events.push({
          userId: r.user_id,
          topicIds,
          e: { at: r.occurred_at, id: r.event_id, m: { id: r.material_id as string, p: r.progress } },
        });
    }
  }
  events.sort((a, b) => a.e.at - b.e.at || (a.e.id < b.e.id ? -1 : 1));

  const rows = new Map<string, MasteryRowState>();
  const next: Prediction[][] = ESTIMATORS.map(() => []);
  const reviews: Array<{ fsrs: number; sm2: number; y: boolean; truth: number }> = [];
  let answers = 0;
  for (const { userId, topicIds, e } of events) {
    for (const topicId of topicIds) {
      const k = `${userId}|${topicId}`;
      let row = rows.get(k);
      if (!row) rows.set(k, (row = emptyRow()));
      const t = e.a ? truth.get(`${e.id}|${topicId}`) : undefined;
      if (e.a && t && row.visible.attempts > 0) {
        answers++;
        ESTIMATORS.forEach((est, i) =>
          next[i]?.push({ p: est.predict(row as MasteryRowState, e.at), y: t.correct }),
        );
        const last = row.visible.fsrs?.lastReviewAt ?? row.visible.sm2?.lastReviewAt ?? e.at;
        if (e.at - last >= REVIEW_GAP_MS)
          reviews.push({
            fsrs: fsrsRecallProbability(row.visible.fsrs ?? undefined, e.at),
            sm2: sm2RecallProbability(row.visible.sm2 ?? undefined, e.at),
            y: t.correct,
            truth: t.recall,
          });
      }
      applyToOwnedRow(row, e, LATENESS_MS, 'fsrs');
    }
  }
  const score = (name: string, preds: Prediction[]): EstimatorScore => ({
    name,
    n: preds.length,
    auc: auc(preds),
    logLoss: logLoss(preds),
    brier: brier(preds),
  });
  const scheduler = (name: string, pick: (r: (typeof reviews)[number]) => number): SchedulerScore => {
    const preds = reviews.map((r) => ({ p: pick(r), y: r.y }));
    const buckets = calibration(preds);
    return {
      ...score(name, preds),
      ece: ece(buckets),
      maeTrueRecall:
        reviews.reduce((s, r) => s + Math.abs(pick(r) - r.truth), 0) / Math.max(1, reviews.length),
      buckets,
    };
  };
  const recall = [scheduler('FSRS', (r) => r.fsrs), scheduler('SM-2', (r) => r.sm2)];
  const [f, s] = recall as [SchedulerScore, SchedulerScore];
  return {
    options,
    answers,
    nextAnswer: ESTIMATORS.map((est, i) => score(est.name, next[i] ?? [])),
    recall,
    winner: f.logLoss <= s.logLoss ? 'fsrs' : 'sm2',
  };
}

const fmt = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

export function formatReport(r: EvalReport): string {
  const lines: string[] = [];
  lines.push(
    `held-out cohort: seed ${String(r.options.seed)}, ${r.options.students} students x ${r.options.days} days; ${r.answers} answers predicted`,
  );
  lines.push('');
  lines.push('Next answer on the topic (answers after the first on a topic)');
  lines.push(`| estimator | n | AUC | log loss | Brier |`);
  lines.push(`|---|---:|---:|---:|---:|`);
  for (const e of r.nextAnswer)
    lines.push(`| ${e.name} | ${e.n} | ${fmt(e.auc)} | ${fmt(e.logLoss)} | ${fmt(e.brier)} |`);
  lines.push('');
  lines.push('Recall at review (answers >= 12 h after the previous one on the topic)');
  lines.push(`| scheduler | n | AUC | log loss | Brier | ECE | MAE vs true retrievability |`);
  lines.push(`|---|---:|---:|---:|---:|---:|---:|`);
  for (const s of r.recall)
    lines.push(
      `| ${s.name} | ${s.n} | ${fmt(s.auc)} | ${fmt(s.logLoss)} | ${fmt(s.brier)} | ${fmt(s.ece)} | ${fmt(s.maeTrueRecall)} |`,
    );
  lines.push('');
  lines.push('Calibration buckets (predicted -> observed, n)');
  for (const s of r.recall)
    lines.push(
      `  ${s.name.padEnd(5)} ${s.buckets
        .filter((b) => b.n > 0)
        .map((b) => `${fmt(b.predicted, 2)}->${fmt(b.observed, 2)} (${b.n})`)
        .join('  ')}`,
    );
  lines.push('');
  lines.push(
    `winner (lower recall log loss): ${r.winner.toUpperCase()} -> default MASTERY_SCHEDULER=${r.winner}`,
  );
  return lines.join('\n');
}
