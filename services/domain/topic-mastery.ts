/**
 * The mastery of one student in one leaf topic as a fold over its events, pure and JSON-serialisable (the mastery
 * processor keeps it per topic_mastery row; eval and the readiness training fold simulated cohorts with it).
 *
 * Arrival order must not change the result (duplicated, reordered or replayed input, and any interleaving of the
 * two input topics, give identical rows).
 *
 * Answers: the schedulers (SM-2, FSRS) are sequential, a review cannot be inserted into a schedule after the
 * fact. So a row keeps
 * - `folded`: every answer older than the fold point (newest answer time - allowed lateness) applied in event-time
 *   order (occurredAt, eventId). Once folded, an answer never moves;
 * - `pending`: the newer answers, sorted; `visible` = folded + pending in order, which readers see.
 * An answer arriving in order (the common case) is applied to `visible` directly; one arriving out of order but
 * within the lateness makes `visible` be rebuilt from `folded`. Answers come from one topic-partition, so the
 * fold point depends only on that partition's order. An answer older than the fold point is late: counts and
 * accuracies still take it (applied to `folded`; the schedulers ignore reviews older than their last one) and it
 * is reported for late_events.
 *
 * Material progress commutes: per material and UTC day the max progress reached. Completion = mean over the
 * materials seen of their max progress (up to a day, for history). It never waits and is never late.
 *
 * Daily history: when the fold crosses the end of a UTC day with answers, the answer-derived figures of that
 * instant are kept as the day's base (`days`); a history row is base + material completion up to that day, and
 * is recomputed when material progress of that day or earlier arrives later.
 */

import { applyAttempt, emptyMasteryState, MASTERY_WEIGHTS } from './mastery.ts';
import type { MasteryState, RetrievalScheduler } from './mastery.ts';
import type { ModelAttempt } from './mastery.ts';
import { leafFigures, type TopicFigures } from './topic-figures.ts';

export const DAY_MS = 86_400_000;

/** One event of a student's topic, in event time: an answer or material progress. */
export type TopicEvent = {
  /** Event time (ms). */
  at: number;
  /** Event id (ties at the same time are ordered by it). */
  id: string;
  /** An answer... */
  answer?: ModelAttempt;
  /** ...or material progress (0..1). */
  material?: { materialId: string; progress: number };
};

/** Answer-derived history figures of a closed day, with material completion 0 (added when written). */
export type DayBase = {
  day: number;
  attempts: number;
  correct: number;
  accuracy: number | null;
  retrievalStrength: number;
  score0: number;
  lower0: number;
  upper0: number;
};

export type TopicMasteryState = {
  folded: MasteryState;
  pending: TopicEvent[];
  visible: MasteryState;
  /** Newest answer time seen. */
  maxAt: number | null;
  /** material id -> day -> max progress that day. */
  materials: Record<string, Record<string, number>>;
  materialAt: number | null;
  /** Day of the newest folded answer; closed days' bases (ascending). */
  foldedDay: number | null;
  days: DayBase[];
};

export type DayHistory = { day: number; columns: TopicFigures };

export type TopicEventResult = {
  row: TopicMasteryState;
  /** The answer was older than the fold point: counted, not scheduled. */
  late: boolean;
  foldPoint: number | null;
  /** History rows to (re)write. */
  history: DayHistory[];
};

export function emptyTopicMastery(): TopicMasteryState {
  return {
    folded: emptyMasteryState(),
    pending: [],
    visible: emptyMasteryState(),
    maxAt: null,
    materials: {},
    materialAt: null,
    foldedDay: null,
    days: [],
  };
}

export function compareTopicEvents(a: TopicEvent, b: TopicEvent): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const dayOf = (at: number): number => Math.floor(at / DAY_MS);

/** Mean over the materials seen (up to `day`, inclusive) of the max progress reached. */
export function completionUpTo(materials: TopicMasteryState['materials'], day = Infinity): number {
  let sum = 0;
  let n = 0;
  // Sorted: the row round-trips through jsonb, which does not keep key order, and float sums depend on order.
  for (const id of Object.keys(materials).sort()) {
    const byDay = materials[id] as Record<string, number>;
    let max = -1;
    for (const [d, p] of Object.entries(byDay)) if (Number(d) <= day) max = Math.max(max, p);
    if (max >= 0) {
      sum += max;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** The state readers see: answers in order, material completion overlaid. */
function withMaterials(state: MasteryState, row: TopicMasteryState): MasteryState {
  if (row.materialAt === null) return state;
  return {
    ...state,
    materialCompletion: completionUpTo(row.materials),
    materialCompletionAt: row.materialAt,
    lastEventAt: Math.max(state.lastEventAt ?? row.materialAt, row.materialAt),
  };
}

function rebuildVisible(row: TopicMasteryState): MasteryState {
  let state = row.folded;
  for (const e of row.pending) if (e.answer) state = applyAttempt(state, { ...e.answer, occurredAt: e.at });
  return withMaterials(state, row);
}

/** Applies one (deduplicated) event to a row. Pure: the input row is not modified. */
export function applyTopicEvent(
  input: TopicMasteryState | undefined,
  e: TopicEvent,
  allowedLatenessMs: number,
  scheduler: RetrievalScheduler,
): TopicEventResult {
  return applyTopicEventInPlace(
    structuredClone(input ?? emptyTopicMastery()),
    e,
    allowedLatenessMs,
    scheduler,
  );
}

/**
 * applyTopicEvent for a row the caller owns (a batch applies many events to one loaded row): `row` is updated in
 * place and returned. Domain states inside are never mutated, only replaced.
 */
export function applyTopicEventInPlace(
  row: TopicMasteryState,
  e: TopicEvent,
  allowedLatenessMs: number,
  scheduler: RetrievalScheduler,
): TopicEventResult {
  const foldPoint = row.maxAt === null ? null : row.maxAt - allowedLatenessMs;
  if (e.material) {
    const day = String(dayOf(e.at));
    const byDay = (row.materials[e.material.materialId] ??= {});
    byDay[day] = Math.max(byDay[day] ?? 0, e.material.progress);
    row.materialAt = Math.max(row.materialAt ?? e.at, e.at);
    row.visible = withMaterials(row.visible, row);
    // Closed days from this one on now have a different material completion.
    const history = row.days.filter((d) => d.day >= dayOf(e.at)).map((d) => historyRow(row, d));
    return { row, late: false, foldPoint: null, history };
  }
  if (!e.answer) return { row, late: false, foldPoint: null, history: [] };
  if (foldPoint !== null && e.at < foldPoint) {
    row.folded = applyAttempt(row.folded, { ...e.answer, occurredAt: e.at });
    row.visible = rebuildVisible(row);
    return { row, late: true, foldPoint, history: [] };
  }
  const last = row.pending[row.pending.length - 1];
  if (last === undefined || compareTopicEvents(last, e) < 0) {
    row.pending.push(e);
    row.visible = withMaterials(applyAttempt(row.visible, { ...e.answer, occurredAt: e.at }), row);
  } else {
    let index = row.pending.length;
    while (index > 0 && compareTopicEvents(row.pending[index - 1] as TopicEvent, e) > 0) index--;
    row.pending.splice(index, 0, e);
    row.visible = rebuildVisible(row);
  }
  row.maxAt = row.maxAt === null ? e.at : Math.max(row.maxAt, e.at);
  const closed = fold(row, row.maxAt - allowedLatenessMs, scheduler);
  return { row, late: false, foldPoint, history: closed.map((d) => historyRow(row, d)) };
}

/** Moves pending answers older than `point` into `folded`, closing days. Mutates `row`; returns new day bases. */
function fold(row: TopicMasteryState, point: number, scheduler: RetrievalScheduler): DayBase[] {
  const closed: DayBase[] = [];
  let n = 0;
  while (n < row.pending.length && (row.pending[n] as TopicEvent).at < point) {
    const e = row.pending[n] as TopicEvent;
    const day = dayOf(e.at);
    if (row.foldedDay !== null && day > row.foldedDay) closeDay(row, closed, scheduler);
    if (e.answer) row.folded = applyAttempt(row.folded, { ...e.answer, occurredAt: e.at });
    row.foldedDay = day;
    n++;
  }
  if (n > 0) row.pending = row.pending.slice(n);
  if (row.foldedDay !== null && point >= (row.foldedDay + 1) * DAY_MS) closeDay(row, closed, scheduler);
  return closed;
}

function closeDay(row: TopicMasteryState, out: DayBase[], scheduler: RetrievalScheduler): void {
  const day = row.foldedDay as number;
  const lastClosed = row.days[row.days.length - 1];
  if (lastClosed !== undefined && lastClosed.day >= day) return;
  const endOfDay = (day + 1) * DAY_MS;
  const c = leafFigures({ ...row.folded, materialCompletion: 0 }, scheduler, endOfDay);
  const base: DayBase = {
    day,
    attempts: c.attempts,
    correct: c.correct,
    accuracy: c.accuracy,
    retrievalStrength: c.retrievalStrength,
    score0: c.masteryScore,
    lower0: c.masteryLower,
    upper0: c.masteryUpper,
  };
  row.days.push(base);
  out.push(base);
}

/** A history row: the day's base plus material completion up to that day (its weight adds linearly). */
function historyRow(row: TopicMasteryState, d: DayBase): DayHistory {
  const material = completionUpTo(row.materials, d.day);
  const add = MASTERY_WEIGHTS.materialCompletion * material;
  const score = Math.min(1, d.score0 + add);
  return {
    day: d.day,
    columns: {
      ...leafFigures(emptyMasteryState(), scheduler0),
      attempts: d.attempts,
      correct: d.correct,
      accuracy: d.accuracy,
      retrievalStrength: d.retrievalStrength,
      materialCompletion: material,
      masteryScore: score,
      masteryLower: Math.min(score, d.lower0 + add),
      masteryUpper: Math.min(1, Math.max(score, d.upper0 + add)),
    },
  };
}
const scheduler0: RetrievalScheduler = 'fsrs';
