/**
 * The mastery processor's per-row step (one student, one leaf topic), pure and JSON-serialisable.
 *
 * Arrival order must not change the result (duplicated, reordered or replayed input gives identical rows), but
 * the schedulers (SM-2, FSRS) are sequential: a review cannot be inserted into a schedule after the fact. So a row
 * keeps two states:
 * - `folded`: every event older than the fold point (maxAt - allowed lateness) applied in event-time order
 *   (occurredAt, eventId). Once folded, an event never moves.
 * - `pending`: the newer events, sorted; `visible` = folded + pending applied in order, which is what readers see.
 * An event arriving in order (the common case) is applied to `visible` directly; one arriving out of order but
 * within the lateness makes `visible` be rebuilt from `folded`. At any moment both are a pure function of the
 * SET of events seen and of maxAt, so the same events give the same row in any order.
 * An event older than the fold point is late: counts and accuracies still take it (applied to `folded`, where
 * the schedulers ignore reviews older than their last one), and it is reported so it is recorded in late_events.
 *
 * Daily history: when the fold crosses the end of a UTC day on which the row had events, the folded state at
 * that instant is emitted as the day's snapshot: exactly the events up to the end of that day, in any order.
 */

import { applyAttempt, applyMaterialProgress, emptyMasteryState } from '../../domain/mastery.ts';
import type { MasteryState } from '../../domain/mastery.ts';
import type { AttemptForQuality } from '../../domain/sm2.ts';

export const DAY_MS = 86_400_000;

export type RowEvent = {
  at: number;
  id: string;
  /** An answer... */
  a?: AttemptForQuality;
  /** ...or material progress (material id, progress 0..1). */
  m?: { id: string; p: number };
};

export type MasteryRowState = {
  folded: MasteryState;
  foldedMaterials: Record<string, number>;
  pending: RowEvent[];
  visible: MasteryState;
  /** Max progress per material over every event seen (folded or pending). */
  materials: Record<string, number>;
  maxAt: number | null;
  /** Day (epoch days) of the newest folded event, and the last day a snapshot was emitted for. */
  foldedDay: number | null;
  snapshotDay: number | null;
};

export type DaySnapshot = { day: number; state: MasteryState };

export type RowApplyResult = {
  row: MasteryRowState;
  /** The event was older than the fold point: counted, not scheduled. */
  late: boolean;
  /** The fold point it was compared with (for late_events). */
  foldPoint: number | null;
  snapshots: DaySnapshot[];
};

export function emptyRow(): MasteryRowState {
  return {
    folded: emptyMasteryState(),
    foldedMaterials: {},
    pending: [],
    visible: emptyMasteryState(),
    materials: {},
    maxAt: null,
    foldedDay: null,
    snapshotDay: null,
  };
}

export function compareEvents(a: RowEvent, b: RowEvent): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Mean over the materials seen of the max progress reached; 0 when none. */
export function completionOf(materials: Record<string, number>): number {
  const values = Object.values(materials);
  if (values.length === 0) return 0;
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Applies one event to a state, given the material map to update (mutated) for material events. */
function step(state: MasteryState, e: RowEvent, materials: Record<string, number>): MasteryState {
  if (e.a) return applyAttempt(state, { ...e.a, occurredAt: e.at });
  if (e.m) {
    materials[e.m.id] = Math.max(materials[e.m.id] ?? 0, e.m.p);
    const at = Math.max(e.at, state.materialCompletionAt ?? e.at);
    return applyMaterialProgress(state, { completion: completionOf(materials), occurredAt: at });
  }
  return state;
}

function rebuildVisible(row: MasteryRowState): MasteryState {
  const materials = { ...row.foldedMaterials };
  let state = row.folded;
  for (const e of row.pending) state = step(state, e, materials);
  return state;
}

const dayOf = (at: number): number => Math.floor(at / DAY_MS);

/** Applies one (deduplicated) event to a row. Pure: the input row is not modified. */
export function applyToRow(
  input: MasteryRowState | undefined,
  e: RowEvent,
  allowedLatenessMs: number,
): RowApplyResult {
  return applyToOwnedRow(structuredClone(input ?? emptyRow()), e, allowedLatenessMs);
}

/**
 * applyToRow for a row the caller owns (a batch applies many events to one loaded row): `row` is updated in
 * place and returned. Domain states inside are never mutated, only replaced, so snapshots can share them.
 */
export function applyToOwnedRow(
  row: MasteryRowState,
  e: RowEvent,
  allowedLatenessMs: number,
): RowApplyResult {
  const foldPoint = row.maxAt === null ? null : row.maxAt - allowedLatenessMs;
  if (foldPoint !== null && e.at < foldPoint) {
    // Late: counts and material progress only (see the module comment).
    row.folded = step(row.folded, e, row.foldedMaterials);
    row.materials = mergeMax(row.materials, row.foldedMaterials);
    row.visible = rebuildVisible(row);
    return { row, late: true, foldPoint, snapshots: [] };
  }
  const last = row.pending[row.pending.length - 1];
  if (last === undefined || compareEvents(last, e) < 0) {
    row.pending.push(e);
    row.visible = step(row.visible, e, row.materials);
  } else {
    let index = row.pending.length;
    while (index > 0 && compareEvents(row.pending[index - 1] as RowEvent, e) > 0) index--;
    row.pending.splice(index, 0, e);
    row.materials = mergeMax(row.materials, e.m ? { [e.m.id]: e.m.p } : {});
    row.visible = rebuildVisible(row);
  }
  row.maxAt = row.maxAt === null ? e.at : Math.max(row.maxAt, e.at);
  const snapshots = fold(row, row.maxAt - allowedLatenessMs);
  return { row, late: false, foldPoint, snapshots };
}

/** Moves pending events older than `point` into `folded`, emitting closed days' snapshots. Mutates `row`. */
function fold(row: MasteryRowState, point: number): DaySnapshot[] {
  const snapshots: DaySnapshot[] = [];
  let n = 0;
  while (n < row.pending.length && (row.pending[n] as RowEvent).at < point) {
    const e = row.pending[n] as RowEvent;
    const day = dayOf(e.at);
    if (row.foldedDay !== null && day > row.foldedDay) emitSnapshot(row, snapshots);
    row.folded = step(row.folded, e, row.foldedMaterials);
    row.foldedDay = day;
    n++;
  }
  if (n > 0) row.pending = row.pending.slice(n);
  // The newest folded day is closed once the fold point passed its end.
  if (row.foldedDay !== null && point >= (row.foldedDay + 1) * DAY_MS) emitSnapshot(row, snapshots);
  return snapshots;
}

function emitSnapshot(row: MasteryRowState, out: DaySnapshot[]): void {
  const day = row.foldedDay as number;
  if (row.snapshotDay !== null && row.snapshotDay >= day) return;
  out.push({ day, state: row.folded });
  row.snapshotDay = day;
}

function mergeMax(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}
