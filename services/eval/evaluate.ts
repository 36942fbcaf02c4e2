/**
 * Model-quality evaluation protocol (services/eval/README.md): fit on training seeds, choose on validation seeds,
 * report on hold-out seeds (default noise and clean), against the simulator's ground truth.
 *
 * Every prediction is made from the state before the answer, through the production path: events decoded by the
 * mastery processor's validation step (cohorts.ts), applied to per (student, leaf topic) rows by its row step
 * (services/domain/topic-mastery.ts, so every topic tag and material progress count), items resolved as the
 * processor resolves them (toTopicEvent). Variants of the learner model that production does not run (other item
 * sources, fitting) use the same domain functions in a direct replay (`replayLearner`), which is checked to give
 * the production path's predictions for the production configuration.
 */
import { computeMastery } from '../domain/mastery.ts';
import { fsrsRecallProbability } from '../domain/fsrs.ts';
import { sm2RecallProbability } from '../domain/sm2.ts';
import {
  difficultyToLogit,
  emptyLearnerState,
  fitItemDifficulties,
  LEARNER_PARAMS,
  addSums,
  pooledLearner,
  poolingOn,
  predictLearner,
  resolveItemDifficulty,
  systemOf,
  spreadFactor,
  learnerRecall,
  learnerNextReviewAt,
  REVIEW_SCHEDULE,
  updateLearner,
  type ItemObservation,
  type LearnerParams,
  type LearnerState,
  type PoolSums,
} from '../domain/learner-model.ts';
import {
  dailyInterval,
  dailyRecall,
  dailyReview,
  FSRS6_DEFAULT_W,
  type DailyFsrsState,
} from '../domain/fsrs-daily.ts';
import {
  applyTopicEventInPlace,
  emptyTopicMastery,
  type TopicMasteryState,
} from '../domain/topic-mastery.ts';
import { toTopicEvent, type CalibratedItem, type ItemCalibration } from '../stream/index.ts';
import type { MasteryInput } from '../stream/index.ts';
import { loadCohort, type Cohort, type CohortSpec, type Noise } from './cohorts.ts';
import type { SimOptions } from '../simulator/index.ts';
import {
  bootstrapIntervals,
  boundedLogit,
  calibrationFit,
  gapClosed,
  scoreAll,
  type Prediction,
  type ScoreIntervals,
  type Scores,
} from './metrics.ts';

export const HOLDOUT_SEED = 'eval-holdout-2025';
export const REVIEW_GAP_MS = 12 * 3_600_000;
/** Target retention at which every scheduler's due dates are compared (FSRS's default request retention). */
export const TARGET_RETENTION = 0.9;
/** Target retentions tried per scheduler (SM-2 and the seed's FSRS keep their own intervals). */
export const TARGET_GRID = [0.9, 0.8, 0.7, 0.6, 0.5] as const;
/**
 * The review load a student can plan: topics due per study day (median over students). On validation each
 * scheduler gets the highest target retention of the grid whose load stays within it; the scheduler chosen is
 * the one whose reviews taken when due are recalled best at that target (ties: the lower load), among those the
 * mastery processor runs (REVIEW_SCHEDULERS_IN_PRODUCTION).
 */
export const REVIEW_BUDGET_PER_DAY = 10;
/** Schedulers whose state the mastery processor keeps (FSRS-6 daily is evaluated only). */
export const REVIEW_SCHEDULERS_IN_PRODUCTION = [
  'SM-2 (seed)',
  'FSRS default (seed, per answer)',
  'FSRS-6 daily, default weights',
  'learner v2 memory term',
];
/** REVIEW_SCHEDULE.scheduler of each production scheduler. */
const PRODUCTION_SCHEDULER: Record<string, string> = {
  'SM-2 (seed)': 'seed',
  'FSRS default (seed, per answer)': 'seed',
  'FSRS-6 daily, default weights': 'fsrs6',
  'learner v2 memory term': 'learner',
};
const LATENESS_MS = 3_600_000;

export type Protocol = {
  training: string[];
  validation: string[];
  holdout: string[];
  students: number;
  holdoutStudents: number;
  days: number;
  noises: Noise[];
  resamples: number;
};

export const DEFAULT_PROTOCOL: Protocol = {
  training: ['eval-train-1', 'eval-train-2', 'eval-train-3'],
  validation: ['eval-valid-1'],
  holdout: [HOLDOUT_SEED, 'eval-holdout-2026'],
  students: 150,
  holdoutStudents: 200,
  days: 45,
  noises: ['default', 'clean'],
  resamples: 200,
};

export type SetName = 'next' | 'reviews' | 'first';
export const SETS: SetName[] = ['next', 'reviews', 'first'];

// ---- item difficulty sources ------------------------------------------------------------------------------

/** How an answer's item difficulty is found: a calibration (question id -> b) and whether the field is used. */
export type ItemSource = { items: ItemCalibration; useField: boolean };

const itemB = (
  src: ItemSource,
  input: Extract<MasteryInput, { kind: 'attempt' }>,
  p: LearnerParams,
): number =>
  resolveItemDifficulty(
    input.questionId === null ? undefined : src.items.get(input.questionId),
    src.useField ? input.difficulty : null,
    p,
  );

// ---- direct replay of the learner model -------------------------------------------------------------------

export type LearnerReplay = {
  /** One prediction per truth answer, in cohort order (the order of `productionPass`'s answers). */
  p: Float64Array;
  y: Uint8Array;
  observations: ItemObservation[];
  /** Per row (compiled row index): the final state, newest material study, newest event. */
  states: LearnerState[];
  materialAt: Array<number | null>;
  lastEventAt: Float64Array;
  /** Per row: the final state with the pooled prior (the final state itself when pooling is off). */
  pooledStates: LearnerState[];
};

/**
 * A cohort compiled for fast replays: row index per (event, topic) step, item index, outcome, truth index. Built
 * once per cohort; `replayLearner` then runs the domain functions over arrays.
 */
export type CompiledCohort = {
  rows: number;
  /** `${userId}|${topicId}` of each row index. */
  keys: string[];
  /** Per row: the student's index and the (student, organ system)'s index, for the pooling sums. */
  rowStudent: Int32Array;
  rowSystem: Int32Array;
  studentCount: number;
  systemCount: number;
  row: Int32Array;
  at: Float64Array;
  /** 0 wrong, 1 right, 2 material study. */
  kind: Uint8Array;
  item: Int32Array;
  /** Index into the cohort's truth answers, or -1. */
  truth: Int32Array;
  y: Uint8Array;
  items: Array<{ id: string | null; difficulty: number | null }>;
  truths: number;
};

const compiled = new WeakMap<Cohort, CompiledCohort>();

export function compileCohort(cohort: Cohort): CompiledCohort {
  const cached = compiled.get(cohort);
  if (cached) return cached;
  const rowIds = new Map<string, number>();
  const itemIds = new Map<string, number>();
  const items: CompiledCohort['items'] = [];
  const row: number[] = [];
  const at: number[] = [];
  const kind: number[] = [];
  const item: number[] = [];
  const truth: number[] = [];
  const y: number[] = [];
  const studentIds = new Map<string, number>();
  const systemIds = new Map<string, number>();
  const rowStudent: number[] = [];
  const rowSystem: number[] = [];
  const indexOf = (m: Map<string, number>, k: string): number => {
    let i = m.get(k);
    if (i === undefined) m.set(k, (i = m.size));
    return i;
  };
  for (const input of cohort.inputs) {
    for (const topicId of input.topicIds) {
      const k = `${input.userId}|${topicId}`;
      let r = rowIds.get(k);
      if (r === undefined) {
        rowIds.set(k, (r = rowIds.size));
        rowStudent.push(indexOf(studentIds, input.userId));
        rowSystem.push(indexOf(systemIds, `${input.userId}|${systemOf(topicId)}`));
      }
      row.push(r);
      at.push(input.occurredAt);
      if (input.kind === 'material') {
        kind.push(2);
        item.push(-1);
        truth.push(-1);
        continue;
      }
      kind.push(input.attempt.correct && input.attempt.answered !== false ? 1 : 0);
      const itemKey = `${input.questionId ?? ''}|${input.difficulty ?? ''}`;
      let it = itemIds.get(itemKey);
      if (it === undefined) {
        itemIds.set(itemKey, (it = items.length));
        items.push({ id: input.questionId, difficulty: input.difficulty });
      }
      item.push(it);
      const t = cohort.truth.get(`${input.eventId}|${topicId}`);
      if (t) {
        truth.push(y.length);
        y.push(t.y ? 1 : 0);
      } else truth.push(-1);
    }
  }
  const out: CompiledCohort = {
    rows: rowIds.size,
    keys: [...rowIds.keys()],
    rowStudent: Int32Array.from(rowStudent),
    rowSystem: Int32Array.from(rowSystem),
    studentCount: studentIds.size,
    systemCount: systemIds.size,
    row: Int32Array.from(row),
    at: Float64Array.from(at),
    kind: Uint8Array.from(kind),
    item: Int32Array.from(item),
    truth: Int32Array.from(truth),
    y: Uint8Array.from(y),
    items,
    truths: y.length,
  };
  compiled.set(cohort, out);
  return out;
}

/** The learner model alone over a cohort (same domain functions and order as the processor's rows). */
export function replayLearner(
  cohort: Cohort,
  params: LearnerParams,
  src: ItemSource,
  collect = false,
): LearnerReplay {
  const c = compileCohort(cohort);
  const bOf = c.items.map((it) =>
    resolveItemDifficulty(
      it.id === null ? undefined : src.items.get(it.id),
      src.useField ? it.difficulty : null,
      params,
    ),
  );
  const states: LearnerState[] = Array.from({ length: c.rows }, () => emptyLearnerState(params));
  const mats: Array<number | null> = new Array<number | null>(c.rows).fill(null);
  const p = new Float64Array(c.truths);
  const observations: ItemObservation[] = [];
  const lastEventAt = new Float64Array(c.rows).fill(-Infinity);
  const pool = poolingOn(params);
  const studentSums: PoolSums[] = Array.from({ length: c.studentCount }, () => ({ g: 0, i: 0 }));
  const systemSums: PoolSums[] = Array.from({ length: c.systemCount }, () => ({ g: 0, i: 0 }));
  const pooled = (r: number, s: LearnerState): LearnerState =>
    pool
      ? pooledLearner(
          s,
          studentSums[c.rowStudent[r] as number] as PoolSums,
          systemSums[c.rowSystem[r] as number] as PoolSums,
          params,
        )
      : s;
  for (let i = 0; i < c.row.length; i++) {
    const r = c.row[i] as number;
    const at = c.at[i] as number;
    const kind = c.kind[i] as number;
    lastEventAt[r] = Math.max(lastEventAt[r] as number, at);
    if (kind === 2) {
      const m = mats[r] ?? null;
      mats[r] = m === null ? at : Math.max(m, at);
      continue;
    }
    const s = states[r] as LearnerState;
    const it = c.item[i] as number;
    const b = bOf[it] as number;
    const t = c.truth[i] as number;
    if (t >= 0) p[t] = predictLearner(pooled(r, s), at, b, mats[r] ?? null, params).p;
    if (s.lastAt !== null && at < s.lastAt) continue;
    const id = (c.items[it] as { id: string | null }).id;
    if (collect && id !== null) {
      const ps = pooled(r, s);
      const recall = learnerRecall(ps, at, null, params);
      observations.push({
        item: id,
        z: ps.mu - params.memoryWeight * (1 - recall),
        k: spreadFactor(ps.v),
        correct: kind === 1,
      });
    }
    const next = updateLearner(s, { at, correct: kind === 1, b }, params);
    for (const total of [studentSums[c.rowStudent[r] as number], systemSums[c.rowSystem[r] as number]]) {
      addSums(total as PoolSums, s, -1);
      addSums(total as PoolSums, next, 1);
    }
    states[r] = next;
  }
  return {
    p,
    y: c.y,
    observations,
    states,
    materialAt: mats,
    lastEventAt,
    pooledStates: states.map((s, r) => pooled(r, s)),
  };
}

/**
 * What the mastery processor stores for each (student, leaf topic) row after all of a cohort's events: the learner
 * model's P(correct) on a question of average difficulty as of the row's latest event (answer or material), by
 * the direct replay (an independent path to the processor's row step). `pooled`: with the student's and organ
 * system's pooled prior from all the student's rows (what the API computes from the stored learner states);
 * otherwise the row's own evidence only (the stored p_correct column).
 */
export function finalLearnerPredictions(
  cohort: Cohort,
  src: ItemSource,
  params: LearnerParams = LEARNER_PARAMS,
  pooled = false,
): Map<string, { p: number; lower: number; upper: number }> {
  const r = replayLearner(cohort, params, src);
  const out = new Map<string, { p: number; lower: number; upper: number }>();
  compileCohort(cohort).keys.forEach((k, i) => {
    const pred = predictLearner(
      (pooled ? r.pooledStates[i] : r.states[i]) as LearnerState,
      r.lastEventAt[i] as number,
      params.itemPriorMean,
      r.materialAt[i] ?? null,
      params,
    );
    out.set(k, { p: pred.p, lower: pred.lower, upper: pred.upper });
  });
  return out;
}

function replayLogLoss(r: LearnerReplay): number {
  let s = 0;
  for (let i = 0; i < r.p.length; i++) {
    const q = Math.min(1 - 1e-6, Math.max(1e-6, r.p[i] as number));
    s -= r.y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return s / Math.max(1, r.p.length);
}

// ---- fitting on the training seeds ------------------------------------------------------------------------

/** Item calibration from cohorts' answers: MAP difficulty per question with the field (or bank mean) as prior. */
export function calibrateItems(
  cohorts: readonly Cohort[],
  params: LearnerParams,
  src: ItemSource,
  useFieldPrior: boolean,
): Map<string, number> {
  const difficulty = new Map<string, number>();
  const observations: ItemObservation[] = [];
  for (const c of cohorts) {
    for (const input of c.inputs)
      if (input.kind === 'attempt' && input.questionId !== null && input.difficulty !== null)
        difficulty.set(input.questionId, input.difficulty);
    for (const o of replayLearner(c, params, src, true).observations) observations.push(o);
  }
  const prior = (item: string): number => {
    const d = difficulty.get(item);
    return useFieldPrior && d !== undefined ? difficultyToLogit(d) : params.itemPriorMean;
  };
  const fitted = fitItemDifficulties(observations, prior, useFieldPrior ? 0.3 : 1, params.guess);
  return new Map([...fitted].map(([k, v]) => [k, v.b]));
}

/**
 * The question-bank calibration step for a job (issue 15): the cohort's decoded events (any order; de-duplicated
 * and ordered here as the processor would apply them) to one row per question for `saveItemCalibration`
 * (services/stream/mastery/items.ts). Two rounds: answers are replayed with the current difficulties, each item's
 * MAP difficulty is fitted with the event's difficulty field as prior (the bank mean when absent), and again with
 * the refitted ones.
 */
export function calibrateItemBank(
  inputs: readonly MasteryInput[],
  params: LearnerParams = LEARNER_PARAMS,
): CalibratedItem[] {
  const seen = new Set<string>();
  const ordered = inputs
    .filter((i) => !seen.has(i.eventId) && seen.add(i.eventId))
    .sort((a, b) => a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : 1));
  const cohort: Cohort = {
    spec: { seed: 'calibration', students: 0, days: 0, noise: 'default', role: 'training' },
    inputs: ordered,
    truth: new Map(),
    students: [],
    delivered: ordered.length,
  };
  const fieldOnly: ItemSource = { items: new Map(), useField: true };
  const first = calibrateItems([cohort], params, fieldOnly, true);
  const items = calibrateItems([cohort], params, { items: first, useField: true }, true);
  const meta = new Map<string, { prior: number | null; answers: number }>();
  for (const i of ordered)
    if (i.kind === 'attempt' && i.questionId !== null) {
      const m = meta.get(i.questionId) ?? {
        prior: i.difficulty === null ? null : difficultyToLogit(i.difficulty),
        answers: 0,
      };
      m.answers += i.topicIds.length;
      meta.set(i.questionId, m);
    }
  return [...items]
    .map(([questionId, difficulty]) => ({
      questionId,
      difficulty,
      priorLogit: meta.get(questionId)?.prior ?? null,
      answers: meta.get(questionId)?.answers ?? 0,
    }))
    .sort((a, b) => (a.questionId < b.questionId ? -1 : 1));
}

type Tunable = Exclude<keyof LearnerParams, 'guess' | 'materialExposure' | 'sMax'>;
const STEPS: Array<[Tunable, number, 'add' | 'mul']> = [
  ['mu0', 0.2, 'add'],
  ['v0', 1.4, 'mul'],
  ['drift', 0.01, 'add'],
  ['processNoise', 2, 'mul'],
  ['memoryWeight', 0.2, 'add'],
  ['r0', 0.1, 'add'],
  ['s0', 1.5, 'mul'],
  ['g1', 1.4, 'mul'],
  ['lapse', 0.1, 'add'],
  ['itemPriorMean', 0.2, 'add'],
  ['poolStudentVar', 1.4, 'mul'],
  ['poolSystemVar', 1.4, 'mul'],
  ['poolTopicVar', 1.4, 'mul'],
];

const round3 = (x: number): number => Number(x.toPrecision(3));

/** Coordinate search of the learner's parameters minimising the training log loss (all answers). */
export function fitParams(
  cohorts: readonly Cohort[],
  start: LearnerParams,
  src: ItemSource,
  sweeps = 2,
): { params: LearnerParams; logLoss: number } {
  const loss = (p: LearnerParams): number =>
    cohorts.reduce((s, c) => s + replayLogLoss(replayLearner(c, p, src)), 0) / cohorts.length;
  const steps = poolingOn(start) ? STEPS : STEPS.filter(([k]) => !k.startsWith('pool'));
  let best = { ...start };
  let bestLoss = loss(best);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (const [key, step, kind] of steps) {
      const scale = sweep === 0 ? 1 : 0.5;
      for (const dir of [1, -1]) {
        let improved = true;
        while (improved) {
          improved = false;
          const value = best[key];
          const next = kind === 'add' ? value + dir * step * scale : value * Math.pow(step, dir * scale);
          if (!validParam(key, next)) break;
          const candidate = { ...best, [key]: round3(next) };
          const l = loss(candidate);
          if (l < bestLoss - 1e-6) {
            best = candidate;
            bestLoss = l;
            improved = true;
          }
        }
      }
    }
  }
  return { params: best, logLoss: bestLoss };
}

function validParam(key: Tunable, v: number): boolean {
  if (!Number.isFinite(v)) return false;
  if (key === 'r0' || key === 'lapse') return v > 0 && v < 1;
  if (key === 'drift' || key === 'memoryWeight') return v >= 0;
  if (key === 'mu0' || key === 'itemPriorMean') return Math.abs(v) < 5;
  return v > 0;
}

// ---- the production pass: every baseline and the production learner -----------------------------------------

export const ESTIMATORS = [
  'Bayes (truth p_correct)',
  'constant (training rate)',
  'per-student rate',
  'smoothed accuracy (c+1)/(n+2)',
  'seed formula (raw)',
  'seed formula (calibrated on training)',
  'FSRS default (seed, per answer)',
  'SM-2 (seed)',
  'learner v2 (production: calibration + difficulty field)',
  'learner v2 without difficulty field (calibration only)',
  'learner v2 without calibration (difficulty field only)',
  'learner v2 without pooling (calibration + difficulty field)',
  'learner v2 without pooling or difficulty field (calibration only)',
  'FSRS-6 daily, default weights',
  'FSRS-6 daily, fitted on training',
] as const;

export type PassContext = {
  constant: number;
  platt: { a: number; b: number };
  params: LearnerParams;
  /** Calibration fitted with the difficulty field as prior (production) and without the field. */
  itemsWithField: ItemCalibration;
  itemsWithoutField: ItemCalibration;
  /** Parameters and calibrations of the model without pooling (the variant rows). */
  unpooledParams?: LearnerParams;
  itemsUnpooledWithField?: ItemCalibration;
  itemsUnpooledWithoutField?: ItemCalibration;
  /** FSRS-6 weights fitted on the training reviews. */
  fsrsW: readonly number[];
  /** Target retention of the schedulers (load and retention report). */
  targetRetention: number;
};

export type AnswerRow = { student: number; sets: SetName[]; y: boolean; p: number[] };

export const SCHEDULERS = [
  'SM-2 (seed)',
  'FSRS default (seed, per answer)',
  'FSRS-6 daily, default weights',
  'FSRS-6 daily, fitted on training',
  'learner v2 memory term',
] as const;

/** Per scheduler and target: topics due per student per study day, and observed recall of reviews taken when due. */
export type SchedulerLoad = {
  name: string;
  target: number;
  medianDuePerDay: number;
  dueReviews: number;
  retentionWhenDue: number;
};

type PassResult = { answers: AnswerRow[]; load: SchedulerLoad[]; schedule: ScheduleSnapshot[] };

const logitOf = boundedLogit;

/** All estimators' predictions for every truth answer of a cohort, from the state before it. */
export function productionPass(cohort: Cohort, ctx: PassContext): PassResult {
  const rows = new Map<string, TopicMasteryState>();
  const daily = new Map<string, { def: DailyFsrsState | null; fit: DailyFsrsState | null }>();
  // Every (scheduler, target) pair: SM-2 and the seed's FSRS at their own intervals (one entry each).
  const grid: Array<{ scheduler: number; target: number }> = SCHEDULERS.flatMap((_, i) =>
    i < 2
      ? [{ scheduler: i, target: ctx.targetRetention }]
      : TARGET_GRID.map((target) => ({ scheduler: i, target })),
  );
  const dueOf = (k: string, row: TopicMasteryState): number[] => {
    const v = row.visible;
    const l = v.learner;
    const d = daily.get(k);
    return grid.map(({ scheduler, target }) => {
      switch (scheduler) {
        case 0:
          return v.sm2?.dueAt ?? Infinity;
        case 1:
          return v.fsrs?.dueAt ?? Infinity;
        case 2:
          return d?.def ? d.def.lastAt + dailyInterval(d.def, target) * DAY : Infinity;
        case 3:
          return d?.fit ? d.fit.lastAt + dailyInterval(d.fit, target, ctx.fsrsW) * DAY : Infinity;
        default:
          return l ? learnerDueAt(l, target, ctx.params) : Infinity;
      }
    });
  };
  const studentRows = new Map<string, Set<string>>();
  const studentDay = new Map<string, number>();
  const dueCounts = grid.map(() => new Map<string, number[]>());
  const dueReviews = grid.map(() => ({ n: 0, correct: 0 }));
  const studentIndex = new Map(cohort.students.map((s, i) => [s, i]));
  const studentRate = new Map<string, { n: number; c: number }>();
  // Pooling sums per student and per (student, organ system), over the rows' visible learner states.
  const poolSums = new Map<string, PoolSums>();
  const sumsOf = (key: string): PoolSums => {
    let t = poolSums.get(key);
    if (!t) poolSums.set(key, (t = { g: 0, i: 0 }));
    return t;
  };
  const out: AnswerRow[] = [];
  const dailyP: Array<[number, number, number]> = [];
  const prodSrc: ItemSource = { items: ctx.itemsWithField, useField: true };
  for (const input of cohort.inputs) {
    const e = toTopicEvent(input, ctx.itemsWithField);
    const day = Math.floor(input.occurredAt / DAY);
    if (input.kind === 'attempt' && studentDay.get(input.userId) !== day) {
      // A new study day of the student: how many of their topics each scheduler has due now.
      studentDay.set(input.userId, day);
      const counts = grid.map(() => 0);
      for (const k of studentRows.get(input.userId) ?? [])
        dueOf(k, rows.get(k) as TopicMasteryState).forEach((due, i) => {
          if (due <= input.occurredAt) counts[i] = (counts[i] as number) + 1;
        });
      counts.forEach((c, i) => {
        const m = dueCounts[i] as Map<string, number[]>;
        const list = m.get(input.userId) ?? [];
        list.push(c);
        m.set(input.userId, list);
      });
    }
    for (const topicId of input.topicIds) {
      const k = `${input.userId}|${topicId}`;
      let row = rows.get(k);
      if (!row) {
        rows.set(k, (row = emptyTopicMastery()));
        const set = studentRows.get(input.userId) ?? new Set<string>();
        set.add(k);
        studentRows.set(input.userId, set);
      }
      let dstate = daily.get(k);
      if (!dstate) daily.set(k, (dstate = { def: null, fit: null }));
      const t = input.kind === 'attempt' ? cohort.truth.get(`${input.eventId}|${topicId}`) : undefined;
      if (t && input.kind === 'attempt') {
        const v = row.visible;
        const at = input.occurredAt;
        const learner = v.learner ?? emptyLearnerState(ctx.params);
        const sets: SetName[] = [];
        if (v.attempts === 0) sets.push('first');
        else {
          sets.push('next');
          if (learner.lastAt !== null && at - learner.lastAt >= REVIEW_GAP_MS) sets.push('reviews');
        }
        if (sets.includes('reviews'))
          dueOf(k, row).forEach((due, i) => {
            if (due <= at) {
              const d = dueReviews[i] as { n: number; correct: number };
              d.n++;
              d.correct += t.y ? 1 : 0;
            }
          });
        const sr = studentRate.get(input.userId) ?? { n: 0, c: 0 };
        const seed = computeMastery(v, at, { scheduler: 'fsrs' }).score;
        const b = itemB(prodSrc, input, ctx.params);
        out.push({
          student: studentIndex.get(input.userId) ?? 0,
          sets,
          y: t.y,
          p: [
            t.p,
            ctx.constant,
            (sr.c + 2 * ctx.constant) / (sr.n + 2),
            (v.correct + 1) / (v.attempts + 2),
            seed,
            1 / (1 + Math.exp(-(ctx.platt.a + ctx.platt.b * logitOf(seed)))),
            fsrsRecallProbability(v.fsrs ?? undefined, at),
            sm2RecallProbability(v.sm2 ?? undefined, at),
            predictLearner(
              pooledLearner(
                learner,
                sumsOf(input.userId),
                sumsOf(`${input.userId}|${systemOf(topicId)}`),
                ctx.params,
              ),
              at,
              b,
              row.materialAt,
              ctx.params,
            ).p,
          ],
        });
        dailyP.push([
          out.length - 1,
          dstate.def ? dailyRecall(dstate.def, at) : ctx.constant,
          dstate.fit ? dailyRecall(dstate.fit, at, ctx.fsrsW) : ctx.constant,
        ]);
        sr.n++;
        sr.c += t.y ? 1 : 0;
        studentRate.set(input.userId, sr);
      }
      if (input.kind === 'attempt') {
        const correct = input.attempt.correct && input.attempt.answered !== false;
        dstate.def = dailyReview(dstate.def, input.occurredAt, correct);
        dstate.fit = dailyReview(dstate.fit, input.occurredAt, correct, ctx.fsrsW);
      }
      const before = row.visible.learner;
      applyTopicEventInPlace(row, e, LATENESS_MS, 'fsrs');
      for (const key of [input.userId, `${input.userId}|${systemOf(topicId)}`]) {
        addSums(sumsOf(key), before, -1);
        addSums(sumsOf(key), row.visible.learner, 1);
      }
    }
  }
  const unpooled = ctx.unpooledParams ?? { ...ctx.params, poolStudentVar: 0 };
  const variants: Array<[LearnerParams, ItemSource]> = [
    [ctx.params, { items: ctx.itemsWithoutField, useField: false }],
    [ctx.params, { items: new Map(), useField: true }],
    [unpooled, { items: ctx.itemsUnpooledWithField ?? ctx.itemsWithField, useField: true }],
    [unpooled, { items: ctx.itemsUnpooledWithoutField ?? ctx.itemsWithoutField, useField: false }],
  ];
  for (const [params, src] of variants) {
    const r = replayLearner(cohort, params, src);
    out.forEach((a, i) => a.p.push(r.p[i] as number));
  }
  for (const [i, def, fit] of dailyP) (out[i] as AnswerRow).p.push(def, fit);
  const load: SchedulerLoad[] = grid.map(({ scheduler, target }, i) => {
    const name = SCHEDULERS[scheduler] as string;
    const perStudent = [...(dueCounts[i] as Map<string, number[]>).values()].map(
      (l) => l.reduce((a, b) => a + b, 0) / l.length,
    );
    const d = dueReviews[i] as { n: number; correct: number };
    return {
      name,
      target,
      medianDuePerDay: median(perStudent),
      dueReviews: d.n,
      retentionWhenDue: d.n === 0 ? NaN : d.correct / d.n,
    };
  });
  // The schedule a student sees at the cohort's end: share of topics overdue and next-review intervals, for the
  // seed's scheduler (FSRS per answer) and the learner model's memory term at each target.
  const end = cohort.inputs.reduce((m, i) => Math.max(m, i.occurredAt), -Infinity);
  const schedule: ScheduleSnapshot[] = grid
    .filter(({ scheduler }) => scheduler === 1 || scheduler === 2 || scheduler === 4)
    .map(({ scheduler, target }) => {
      const intervals: number[] = [];
      let overdue = 0;
      for (const row of rows.values()) {
        const v = row.visible;
        const d = v.fsrsDaily ?? null;
        const last =
          scheduler === 1
            ? (v.fsrs?.lastReviewAt ?? null)
            : scheduler === 2
              ? (d?.lastAt ?? null)
              : (v.learner?.lastAt ?? null);
        const due =
          scheduler === 1
            ? (v.fsrs?.dueAt ?? null)
            : scheduler === 2
              ? d
                ? d.lastAt + dailyInterval(d, target) * DAY
                : null
              : v.learner
                ? learnerDueAt(v.learner, target, ctx.params)
                : null;
        if (last === null || due === null || !Number.isFinite(due)) continue;
        intervals.push((due - last) / DAY);
        if (due <= end) overdue++;
      }
      return {
        name: SCHEDULERS[scheduler] as string,
        target,
        topics: intervals.length,
        overdueShare: intervals.length === 0 ? NaN : overdue / intervals.length,
        intervalBuckets: INTERVAL_BUCKETS.map(
          ([lo, hi]) => intervals.filter((d) => d >= lo && d < hi).length,
        ),
        medianIntervalDays: median(intervals),
      };
    });
  return { answers: out, load, schedule };
}

/** Next-review interval buckets (days) of the schedule snapshot. */
export const INTERVAL_BUCKETS: Array<[number, number]> = [
  [0, 1],
  [1, 5],
  [5, 14],
  [14, 30],
  [30, Infinity],
];

/** The schedule at a cohort's end under one scheduler and target (see productionPass). */
export type ScheduleSnapshot = {
  name: string;
  target: number;
  topics: number;
  overdueShare: number;
  intervalBuckets: number[];
  medianIntervalDays: number;
};

const learnerDueAt = (l: LearnerState, target: number, p: LearnerParams): number =>
  learnerNextReviewAt(l, target, p) ?? Infinity;

const DAY = 86_400_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Log loss of daily FSRS recall on the training reviews (first answer on a topic after >= 12 h). */
function dailyFsrsReviewLoss(cohorts: readonly Cohort[], w: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (const cohort of cohorts) {
    const c = compileCohort(cohort);
    const states: Array<DailyFsrsState | null> = new Array<DailyFsrsState | null>(c.rows).fill(null);
    const lastAnswer = new Float64Array(c.rows).fill(-Infinity);
    for (let i = 0; i < c.row.length; i++) {
      if (c.kind[i] === 2) continue;
      const r = c.row[i] as number;
      const at = c.at[i] as number;
      const st = states[r] ?? null;
      if (st !== null && c.truth[i]! >= 0 && at - (lastAnswer[r] as number) >= REVIEW_GAP_MS) {
        const p = Math.min(1 - 1e-6, Math.max(1e-6, dailyRecall(st, at, w)));
        sum -= c.kind[i] === 1 ? Math.log(p) : Math.log(1 - p);
        n++;
      }
      lastAnswer[r] = Math.max(lastAnswer[r] as number, at);
      states[r] = dailyReview(st, at, c.kind[i] === 1, w);
    }
  }
  return n === 0 ? NaN : sum / n;
}

/** Coordinate search of FSRS-6 weights on the training reviews (the FSRS optimizer's objective, log loss of R). */
export function fitDailyFsrs(cohorts: readonly Cohort[], sweeps = 2): { w: number[]; logLoss: number } {
  let w = [...FSRS6_DEFAULT_W];
  let best = dailyFsrsReviewLoss(cohorts, w);
  const tunable = [0, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20];
  for (let sweep = 0; sweep < sweeps; sweep++)
    for (const i of tunable)
      for (const factor of sweep === 0 ? [1.5, 1 / 1.5] : [1.2, 1 / 1.2]) {
        let improved = true;
        while (improved) {
          improved = false;
          const candidate = [...w];
          const value = (w[i] as number) * factor;
          candidate[i] = i === 7 ? Math.min(0.99, Math.max(0.001, value)) : Number(value.toPrecision(4));
          const l = dailyFsrsReviewLoss(cohorts, candidate);
          if (l < best - 1e-6) {
            w = candidate;
            best = l;
            improved = true;
          }
        }
      }
  return { w, logLoss: best };
}

/** Platt scaling y ~ σ(a + b·logit(p)) fitted on training predictions (the recalibration fit of metrics.ts). */
function plattFit(preds: Prediction[]): { a: number; b: number } {
  const f = calibrationFit(preds);
  return Number.isFinite(f.slope) ? { a: f.intercept, b: f.slope } : { a: 0, b: 1 };
}

// ---- report --------------------------------------------------------------------------------------------

export type EstimatorReport = Scores & { name: string; ci: ScoreIntervals; gapClosed: number };
export type CohortReport = {
  spec: CohortSpec;
  delivered: number;
  sets: Record<SetName, EstimatorReport[]>;
  load: SchedulerLoad[];
  schedule: ScheduleSnapshot[];
};
export type Acceptance = { cohort: string; check: string; value: string; met: boolean };
export type EvalReport = {
  protocol: Protocol;
  fitted: {
    params: LearnerParams;
    trainingLogLoss: number;
    /** Training log loss of the production constants (LEARNER_PARAMS) with the same item calibration. */
    productionTrainingLogLoss: number;
    productionParamsMatch: boolean;
  };
  validation: Array<{ candidate: string; logLoss: number }>;
  chosen: string;
  constant: number;
  platt: { a: number; b: number };
  fsrs: { w: number[]; trainingReviewLogLoss: number };
  items: { withField: number; withoutField: number };
  /** Per scheduler its target chosen on validation, and the review scheduler chosen. */
  schedulerChoice: SchedulerChoice;
  cohorts: CohortReport[];
  acceptance: Acceptance[];
  seconds: number;
};

export function scoreCohort(rows: AnswerRow[], resamples: number): CohortReport['sets'] {
  const sets = {} as CohortReport['sets'];
  for (const set of SETS) {
    const members = rows.filter((r) => r.sets.includes(set));
    const reports: EstimatorReport[] = [];
    ESTIMATORS.forEach((name, i) => {
      const preds = members.map((r) => ({ p: r.p[i] as number, y: r.y }));
      const groups = new Map<number, Prediction[]>();
      members.forEach((r, j) => {
        let g = groups.get(r.student);
        if (!g) groups.set(r.student, (g = []));
        g.push(preds[j] as Prediction);
      });
      reports.push({
        name,
        ...scoreAll(preds),
        ci: bootstrapIntervals([...groups.values()], resamples, 7 + i),
        gapClosed: NaN,
      });
    });
    const bayes = reports[0] as EstimatorReport;
    const constant = reports[1] as EstimatorReport;
    for (const r of reports) r.gapClosed = gapClosed(constant.logLoss, r.logLoss, bayes.logLoss);
    sets[set] = reports;
  }
  return sets;
}

const PRODUCTION = 8;

function acceptanceOf(c: CohortReport): Acceptance[] {
  const name = `${c.spec.seed} (${c.spec.noise})`;
  const next = c.sets.next;
  const v2 = next[PRODUCTION] as EstimatorReport;
  const seed = next[4] as EstimatorReport;
  const student = next[2] as EstimatorReport;
  const rv2 = c.sets.reviews[PRODUCTION] as EstimatorReport;
  const rconst = c.sets.reviews[1] as EstimatorReport;
  const f = (x: number): string => x.toFixed(3);
  const disjoint = (a: [number, number], b: [number, number]): boolean => a[1] < b[0] || b[1] < a[0];
  return [
    { cohort: name, check: 'next AUC >= 0.70', value: f(v2.auc), met: v2.auc >= 0.7 },
    { cohort: name, check: 'next log loss <= 0.61', value: f(v2.logLoss), met: v2.logLoss <= 0.61 },
    { cohort: name, check: 'next ECE <= 0.03', value: f(v2.ece), met: v2.ece <= 0.03 },
    {
      cohort: name,
      check: 'next LL and AUC intervals exclude the seed formula',
      value: `LL [${v2.ci.logLoss.map(f).join(', ')}] vs [${seed.ci.logLoss.map(f).join(', ')}]; AUC [${v2.ci.auc.map(f).join(', ')}] vs [${seed.ci.auc.map(f).join(', ')}]`,
      met: disjoint(v2.ci.logLoss, seed.ci.logLoss) && disjoint(v2.ci.auc, seed.ci.auc),
    },
    {
      cohort: name,
      check: 'next LL and AUC intervals exclude the per-student rate',
      value: `LL [${v2.ci.logLoss.map(f).join(', ')}] vs [${student.ci.logLoss.map(f).join(', ')}]; AUC [${v2.ci.auc.map(f).join(', ')}] vs [${student.ci.auc.map(f).join(', ')}]`,
      met: disjoint(v2.ci.logLoss, student.ci.logLoss) && disjoint(v2.ci.auc, student.ci.auc),
    },
    {
      cohort: name,
      check: "reviews LL below the constant's interval",
      value: `${f(rv2.logLoss)} vs [${rconst.ci.logLoss.map(f).join(', ')}]`,
      met: rv2.logLoss < rconst.ci.logLoss[0],
    },
  ];
}

/**
 * The model without pooling, as the eval fitted it before pooling (training log loss 0.5838 with the same
 * protocol): the baseline the pooled model is compared with.
 */
export const UNPOOLED_PARAMS: LearnerParams = {
  guess: 0.2,
  mu0: -0.3,
  v0: 1,
  drift: 0.025,
  processNoise: 0.002,
  memoryWeight: 1.4,
  r0: 0.15,
  s0: 1.5,
  g0: 0.15,
  g1: 0.0441,
  lapse: 0.7,
  sMin: 0.25,
  sMax: 365,
  itemPriorMean: -0.2,
  materialExposure: true,
  poolStudentVar: 0,
  poolSystemVar: 0,
  poolTopicVar: 0,
};

export type SchedulerChoice = {
  perScheduler: SchedulerLoad[];
  chosen: { name: string; target: number };
  /** Whether the production schedule (REVIEW_SCHEDULE, learner-model.ts) is the chosen one. */
  productionMatches: boolean;
};

/**
 * Per scheduler, the highest target of the grid whose validation load (median topics due per student per study
 * day) is within REVIEW_BUDGET_PER_DAY (else its lowest-load target); then, among the schedulers production runs,
 * the one whose reviews taken when due were recalled best (ties: the lower load).
 */
export function chooseSchedulers(load: readonly SchedulerLoad[]): SchedulerChoice {
  const perScheduler: SchedulerLoad[] = [];
  for (const name of SCHEDULERS) {
    const options = load.filter((l) => l.name === name).sort((a, b) => b.target - a.target);
    if (options.length === 0) continue;
    const within = options.find((l) => l.medianDuePerDay <= REVIEW_BUDGET_PER_DAY);
    perScheduler.push(
      within ?? (options.reduce((a, b) => (b.medianDuePerDay < a.medianDuePerDay ? b : a)) as SchedulerLoad),
    );
  }
  const candidates = perScheduler.filter((l) => REVIEW_SCHEDULERS_IN_PRODUCTION.includes(l.name));
  const best = candidates.reduce((a, b) => {
    const ra = Number.isFinite(a.retentionWhenDue) ? a.retentionWhenDue : -1;
    const rb = Number.isFinite(b.retentionWhenDue) ? b.retentionWhenDue : -1;
    const aWithin = a.medianDuePerDay <= REVIEW_BUDGET_PER_DAY;
    const bWithin = b.medianDuePerDay <= REVIEW_BUDGET_PER_DAY;
    if (aWithin !== bWithin) return aWithin ? a : b;
    if (Math.abs(ra - rb) > 1e-9) return ra > rb ? a : b;
    return b.medianDuePerDay < a.medianDuePerDay ? b : a;
  });
  const chosen = { name: best.name, target: best.target };
  return {
    perScheduler,
    chosen,
    productionMatches:
      PRODUCTION_SCHEDULER[chosen.name] === REVIEW_SCHEDULE.scheduler &&
      (REVIEW_SCHEDULE.scheduler === 'seed' || REVIEW_SCHEDULE.targetRetention === chosen.target),
  };
}

const paramsEqual = (a: LearnerParams, b: LearnerParams): boolean =>
  (Object.keys(a) as Array<keyof LearnerParams>).every((k) => a[k] === b[k]);

/** The whole protocol. `log` gets progress lines. */
export function runProtocol(protocol: Protocol, log: (line: string) => void = () => {}): EvalReport {
  const t0 = Date.now();
  const spec = (seed: string, role: CohortSpec['role'], noise: Noise, students: number): CohortSpec => ({
    seed,
    role,
    noise,
    students,
    days: protocol.days,
  });
  const training = protocol.training.map((s) =>
    loadCohort(spec(s, 'training', 'default', protocol.students)),
  );
  const validation = protocol.validation.map((s) =>
    loadCohort(spec(s, 'validation', 'default', protocol.students)),
  );
  log(`simulated ${training.length} training and ${validation.length} validation cohorts`);

  // 1. Fit on training: item calibration (with the field as prior) and the parameters, alternating.
  const fieldOnly: ItemSource = { items: new Map(), useField: true };
  let items = calibrateItems(training, LEARNER_PARAMS, fieldOnly, true);
  let fit = fitParams(training, LEARNER_PARAMS, { items, useField: true });
  log(`fitted parameters (training log loss ${fit.logLoss.toFixed(4)})`);
  items = calibrateItems(training, fit.params, fieldOnly, true);
  fit = fitParams(training, fit.params, { items, useField: true }, 1);
  log(`refitted after calibration (training log loss ${fit.logLoss.toFixed(4)})`);

  // 2. Choose on validation: pooling or not; material study as exposure or not.
  const unpooledItems = calibrateItems(training, UNPOOLED_PARAMS, fieldOnly, true);
  const candidates: Array<[string, LearnerParams, ItemCalibration]> = [
    [
      'fitted, pooled, material study resets the forgetting clock',
      { ...fit.params, materialExposure: true },
      items,
    ],
    ['fitted, pooled, answers only', { ...fit.params, materialExposure: false }, items],
    ['without pooling (UNPOOLED_PARAMS)', UNPOOLED_PARAMS, unpooledItems],
  ];
  const validationScores = candidates.map(([name, p, it]) => ({
    candidate: name,
    logLoss:
      validation.reduce((s, c) => s + replayLogLoss(replayLearner(c, p, { items: it, useField: true })), 0) /
      validation.length,
  }));
  const bestIndex = validationScores.reduce(
    (bi, v, i, all) => (v.logLoss < (all[bi] as typeof v).logLoss ? i : bi),
    0,
  );
  const chosen = (candidates[bestIndex] as [string, LearnerParams, ItemCalibration])[1];
  log(`validation chose: ${(candidates[bestIndex] as [string, LearnerParams, ItemCalibration])[0]}`);

  // The production constants are what the processor runs; the report uses them (see productionParamsMatch).
  const params = LEARNER_PARAMS;
  const productionTrainingLogLoss =
    training.reduce((s, c) => s + replayLogLoss(replayLearner(c, params, { items, useField: true })), 0) /
    training.length;
  const itemsWithField = calibrateItems(training, params, fieldOnly, true);
  const itemsWithoutField = calibrateItems(
    training,
    params,
    {
      items: calibrateItems(training, params, { items: new Map(), useField: false }, false),
      useField: false,
    },
    false,
  );

  const itemsUnpooledWithoutField = calibrateItems(
    training,
    UNPOOLED_PARAMS,
    {
      items: calibrateItems(training, UNPOOLED_PARAMS, { items: new Map(), useField: false }, false),
      useField: false,
    },
    false,
  );

  // 3. Baselines fitted on training: FSRS-6 weights (daily reviews), constant rate, Platt scaling of the seed formula.
  const fsrsFit = fitDailyFsrs(training);
  log(`fitted FSRS-6 weights (training review log loss ${fsrsFit.logLoss.toFixed(4)})`);
  let n = 0;
  let c = 0;
  for (const t of training)
    for (const v of t.truth.values()) {
      n++;
      c += v.y ? 1 : 0;
    }
  const constant = c / n;
  const seedPreds: Prediction[] = [];
  for (const t of training)
    for (const r of productionPass(t, {
      constant,
      platt: { a: 0, b: 1 },
      params,
      itemsWithField,
      itemsWithoutField,
      fsrsW: fsrsFit.w,
      targetRetention: TARGET_RETENTION,
    }).answers)
      seedPreds.push({ p: r.p[4] as number, y: r.y });
  const platt = plattFit(seedPreds);
  const ctx: PassContext = {
    constant,
    platt,
    params,
    itemsWithField,
    itemsWithoutField,
    unpooledParams: UNPOOLED_PARAMS,
    itemsUnpooledWithField: unpooledItems,
    itemsUnpooledWithoutField,
    fsrsW: fsrsFit.w,
    targetRetention: TARGET_RETENTION,
  };

  // 4. Choose the review scheduler and its target retention on validation (REVIEW_BUDGET_PER_DAY).
  const validationLoad = validation.flatMap((v) => productionPass(v, ctx).load);
  const schedulerChoice = chooseSchedulers(validationLoad);
  log(
    `validation chose the review scheduler: ${schedulerChoice.chosen.name} at ${schedulerChoice.chosen.target}`,
  );

  // 5. Hold-out.
  const cohorts: CohortReport[] = [];
  for (const seed of protocol.holdout)
    for (const noise of protocol.noises) {
      const cohort = loadCohort(spec(seed, 'holdout', noise, protocol.holdoutStudents));
      const pass = productionPass(cohort, ctx);
      cohorts.push({
        spec: cohort.spec,
        delivered: cohort.delivered,
        sets: scoreCohort(pass.answers, protocol.resamples),
        load: pass.load,
        schedule: pass.schedule,
      });
      log(`scored hold-out ${seed} (${noise})`);
    }
  return {
    protocol,
    fitted: {
      params: chosen,
      trainingLogLoss: fit.logLoss,
      productionTrainingLogLoss,
      // Equal, or as good on training: the coordinate search may wander along flat directions from a new start.
      productionParamsMatch:
        paramsEqual(chosen, LEARNER_PARAMS) || productionTrainingLogLoss <= fit.logLoss + 5e-4,
    },
    validation: validationScores,
    chosen: (candidates[bestIndex] as [string, LearnerParams, ItemCalibration])[0],
    constant,
    platt,
    fsrs: { w: fsrsFit.w, trainingReviewLogLoss: fsrsFit.logLoss },
    items: { withField: itemsWithField.size, withoutField: itemsWithoutField.size },
    schedulerChoice,
    cohorts,
    acceptance: cohorts.flatMap(acceptanceOf),
    seconds: (Date.now() - t0) / 1000,
  };
}

const fmt = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const ci = (i: [number, number]): string => `[${fmt(i[0])}, ${fmt(i[1])}]`;

export const SET_TITLES: Record<SetName, string> = {
  next: 'Every next answer on a topic (after at least one earlier answer on it)',
  reviews: 'Reviews: first answer on a topic after a gap of at least 12 h',
  first: 'First answer ever on a topic',
};

export function formatSet(rows: readonly EstimatorReport[]): string[] {
  const lines = [
    '| estimator | n | log loss [95% CI] | Brier | AUC [95% CI] | ECE [95% CI] | slope | intercept | gap closed |',
    '|---|---:|---|---:|---|---|---:|---:|---:|',
  ];
  for (const e of rows)
    lines.push(
      `| ${e.name} | ${e.n} | ${fmt(e.logLoss)} ${ci(e.ci.logLoss)} | ${fmt(e.brier)} | ${fmt(e.auc)} ${ci(e.ci.auc)} | ${fmt(e.ece)} ${ci(e.ci.ece)} | ${fmt(e.slope, 2)} | ${fmt(e.intercept, 2)} | ${fmt(e.gapClosed, 2)} |`,
    );
  return lines;
}

export function formatReport(r: EvalReport): string {
  const lines: string[] = [];
  const p = r.protocol;
  lines.push(
    `Protocol: training ${p.training.join(', ')} (${p.students} students x ${p.days} days each); validation ${p.validation.join(', ')}; hold-out ${p.holdout.join(', ')} (${p.holdoutStudents} students, noise: ${p.noises.join(' and ')}); ${p.resamples} bootstrap resamples over students.`,
  );
  lines.push(
    `Constant rate from training: ${fmt(r.constant)}. Seed formula Platt scaling: a=${fmt(r.platt.a)}, b=${fmt(r.platt.b)}.`,
  );
  lines.push(
    `Items calibrated on training: ${r.items.withField} (difficulty field as prior), ${r.items.withoutField} (bank mean as prior).`,
  );
  lines.push(
    `Validation (log loss, all answers): ${r.validation.map((v) => `${v.candidate}: ${fmt(v.logLoss, 4)}`).join('; ')}; chosen: ${r.chosen}.`,
  );
  lines.push(
    `Fitted parameters (training log loss ${fmt(r.fitted.trainingLogLoss, 4)}): ${JSON.stringify(r.fitted.params)}; production LEARNER_PARAMS (training log loss ${fmt(r.fitted.productionTrainingLogLoss, 4)}) ${r.fitted.productionParamsMatch ? 'equal them or fit as well (within 0.0005)' : 'fit worse: paste the fitted ones into services/domain/learner-model.ts'}.`,
  );
  for (const c of r.cohorts) {
    lines.push('');
    lines.push(
      `## Hold-out ${c.spec.seed}, ${c.spec.noise} noise (${c.spec.students} students x ${c.spec.days} days, ${c.delivered} events delivered)`,
    );
    for (const set of SETS) {
      lines.push('');
      lines.push(`### ${SET_TITLES[set]}`);
      lines.push(...formatSet(c.sets[set]));
    }
    lines.push('');
    lines.push('### Schedulers at every target retention (SM-2 and the seed FSRS: their own intervals)');
    lines.push(...loadTable(c.load));
    lines.push('');
    lines.push('### The schedule at the cohort end');
    lines.push(...scheduleTable(c.schedule));
  }
  lines.push('');
  lines.push(
    `## Review scheduler chosen on validation (budget ${REVIEW_BUDGET_PER_DAY} topics due per student per study day): ${r.schedulerChoice.chosen.name} at ${r.schedulerChoice.chosen.target}; production REVIEW_SCHEDULE ${r.schedulerChoice.productionMatches ? 'is the chosen one' : 'DIFFERS: update services/domain/learner-model.ts'}`,
  );
  lines.push(...loadTable(r.schedulerChoice.perScheduler));
  lines.push('');
  lines.push('## Acceptance (issue 15)');
  lines.push('| cohort | check | value | met |');
  lines.push('|---|---|---|---|');
  for (const a of r.acceptance)
    lines.push(`| ${a.cohort} | ${a.check} | ${a.value} | ${a.met ? 'yes' : 'NO'} |`);
  lines.push('');
  lines.push('## README table (Model quality)');
  lines.push('');
  lines.push(formatReadmeSection(r));
  lines.push('');
  lines.push(`eval took ${fmt(r.seconds, 0)} s`);
  return lines.join('\n');
}

const README_ROWS = [
  'Bayes (truth p_correct)',
  'constant (training rate)',
  'per-student rate',
  'smoothed accuracy (c+1)/(n+2)',
  'seed formula (raw)',
  'seed formula (calibrated on training)',
  'FSRS default (seed, per answer)',
  'SM-2 (seed)',
  'FSRS-6 daily, fitted on training',
  'learner v2 (production: calibration + difficulty field)',
  'learner v2 without difficulty field (calibration only)',
  'learner v2 without pooling (calibration + difficulty field)',
  'learner v2 without pooling or difficulty field (calibration only)',
];

/** The README's model-quality table: every hold-out cohort with default noise, next answers and reviews. */
export function formatReadmeSection(r: EvalReport): string {
  const lines: string[] = [];
  for (const c of r.cohorts.filter((x) => x.spec.noise === 'default')) {
    lines.push(
      `Hold-out \`${c.spec.seed}\` (${c.spec.students} students x ${c.spec.days} days, default noise); next answers n = ${c.sets.next[0]?.n ?? 0}, reviews n = ${c.sets.reviews[0]?.n ?? 0}:`,
    );
    lines.push('');
    lines.push('| estimator | next: log loss | AUC | ECE | gap closed | reviews: log loss | AUC | ECE |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const name of README_ROWS) {
      const n = c.sets.next.find((e) => e.name === name);
      const v = c.sets.reviews.find((e) => e.name === name);
      if (!n || !v) continue;
      lines.push(
        `| ${name} | ${fmt(n.logLoss)} ${ci(n.ci.logLoss)} | ${fmt(n.auc)} | ${fmt(n.ece)} | ${fmt(n.gapClosed, 2)} | ${fmt(v.logLoss)} ${ci(v.ci.logLoss)} | ${fmt(v.auc)} | ${fmt(v.ece)} |`,
      );
    }
    lines.push('');
  }
  const first = r.cohorts[0];
  const choice = r.schedulerChoice;
  lines.push(
    `Review schedulers, each at the target retention chosen on validation (the highest of ${TARGET_GRID.join(', ')} with a median load within ${REVIEW_BUDGET_PER_DAY} topics due per student per study day); chosen: **${choice.chosen.name} at ${choice.chosen.target}**. Validation, then \`${first?.spec.seed ?? ''}\` (${first?.spec.noise ?? ''} noise):`,
  );
  lines.push('');
  lines.push(...loadTable(choice.perScheduler));
  if (first) {
    lines.push('');
    lines.push(
      ...loadTable(
        choice.perScheduler.map(
          (c) => first.load.find((l) => l.name === c.name && l.target === c.target) as SchedulerLoad,
        ),
      ),
    );
    lines.push('');
    lines.push(
      `The schedule at the end of \`${first.spec.seed}\` (${first.spec.noise} noise), per leaf topic answered:`,
    );
    lines.push('');
    lines.push(...scheduleTable(first.schedule));
  }
  return lines.join('\n');
}

function loadTable(load: readonly SchedulerLoad[]): string[] {
  const lines = [
    '| scheduler | target retention | median topics due per student per study day | reviews taken when due | recall of those reviews |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const l of load)
    lines.push(
      `| ${l.name} | ${l.name === SCHEDULERS[0] || l.name === SCHEDULERS[1] ? 'own' : fmt(l.target, 2)} | ${fmt(l.medianDuePerDay, 1)} | ${l.dueReviews} | ${fmt(l.retentionWhenDue)} |`,
    );
  return lines;
}

function scheduleTable(schedule: readonly ScheduleSnapshot[]): string[] {
  const head = INTERVAL_BUCKETS.map(([lo, hi]) => (hi === Infinity ? `>= ${lo} d` : `${lo}-${hi} d`));
  const lines = [
    `| scheduler | target | topics | overdue at the end | median interval (days) | ${head.join(' | ')} |`,
    `| --- | --- | --- | --- | --- | ${head.map(() => '---').join(' | ')} |`,
  ];
  for (const x of schedule)
    lines.push(
      `| ${x.name} | ${x.name === SCHEDULERS[1] ? 'own' : fmt(x.target, 2)} | ${x.topics} | ${fmt(100 * x.overdueShare, 1)}% | ${fmt(x.medianIntervalDays, 1)} | ${x.intervalBuckets.join(' | ')} |`,
    );
  return lines;
}

/** The review schedule on one simulated cohort (the demo's): load per scheduler and target, and the schedule at its end. */
export type ScheduleFigures = {
  answers: number;
  load: SchedulerLoad[];
  schedule: ScheduleSnapshot[];
};

/**
 * What the review schedule asks of the students of a simulated cohort (`studystream eval --demo-schedule`: the
 * demo's), under the seed's FSRS and every production scheduler at every target: the production row step with the
 * production constants over the cohort's events (the schedulers use no item calibration, so nothing is fitted).
 * FSRS-6 with fitted weights is left out: it needs the training seeds.
 */
export function scheduleFigures(options: SimOptions): ScheduleFigures {
  const spec: CohortSpec = {
    seed: String(options.seed),
    students: options.students,
    days: options.days,
    noise: 'default',
    role: 'holdout',
  };
  const cohort = loadCohort(spec, options);
  const { load, schedule } = productionPass(cohort, {
    constant: 0.5,
    platt: { a: 0, b: 1 },
    params: LEARNER_PARAMS,
    itemsWithField: new Map(),
    itemsWithoutField: new Map(),
    fsrsW: FSRS6_DEFAULT_W,
    targetRetention: TARGET_RETENTION,
  });
  return {
    answers: cohort.inputs.filter((i) => i.kind === 'attempt').length,
    load: load.filter((l) => l.name !== SCHEDULERS[3]),
    schedule,
  };
}

/** The markdown of scheduleFigures: the load table, then the schedule at the cohort's end. */
export function formatScheduleFigures(options: SimOptions, f: ScheduleFigures): string {
  const end = new Date(options.startMs + options.days * DAY).toISOString().slice(0, 10);
  return [
    `Cohort: seed ${String(options.seed)}, ${options.students} students x ${options.days} days ending ${end}, ${f.answers} answers. Production schedule (REVIEW_SCHEDULE): ${REVIEW_SCHEDULE.scheduler} at ${REVIEW_SCHEDULE.targetRetention}.`,
    '',
    'Review load (topics due at the start of each study day of a student; median over students of their mean):',
    '',
    ...loadTable(f.load),
    '',
    'The schedule at the end of the cohort, per leaf topic answered:',
    '',
    ...scheduleTable(f.schedule),
  ].join('\n');
}
