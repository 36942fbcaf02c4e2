/**
 * Simulated cohorts for the evaluation, decoded through the mastery processor's own validation step
 * (services/stream/mastery/decode.ts: confidence, every topic tag, material progress), deduplicated by event id
 * (as processed_events does) and ordered by event time, with the simulator's ground truth per (event, topic).
 */
import { curriculum } from '../simulator/index.ts';
import { simulateCohort, simOptions } from '../simulator/index.ts';
import { toMasteryInput, type MasteryInput } from '../stream/index.ts';
import type { SimEvent, SimOptions } from '../simulator/index.ts';

export type Noise = 'default' | 'clean';
export type Role = 'training' | 'validation' | 'holdout';
export type CohortSpec = { seed: string; students: number; days: number; noise: Noise; role: Role };

export type Truth = { p: number; y: boolean };
export type Cohort = {
  spec: CohortSpec;
  inputs: MasteryInput[];
  /** `${eventId}|${topicId}` -> truth of that answer (the simulator's primary topic of the question). */
  truth: Map<string, Truth>;
  students: string[];
  /** Raw events before deduplication (duplicates included). */
  delivered: number;
};

let leaves: Set<string> | undefined;
const topicKind = (id: string): 'leaf' | 'parent' | undefined => {
  leaves ??= new Set(curriculum().leaves.map((l) => l.id));
  return leaves.has(id) ? 'leaf' : 'parent';
};

/** Fixed simulation start so every run of the eval sees the same calendar (2026-01-05, a Monday). */
export const EVAL_START_MS = Date.UTC(2026, 0, 5);

/** Decodes events as the mastery processor does, keeps the first copy of each event id, orders by event time. */
export function decodeEvents(events: Iterable<SimEvent>): MasteryInput[] {
  const seen = new Set<string>();
  const inputs: MasteryInput[] = [];
  for (const { family, record } of events) {
    if (family === 'study-events' || seen.has(record.event_id)) continue;
    seen.add(record.event_id);
    const r = toMasteryInput(family, record, topicKind);
    if (r.type === 'ok') inputs.push(r.value);
  }
  return inputs.sort((a, b) => a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : 1));
}

/** A cohort of the eval's calendar (EVAL_START_MS), or of the given simulator options (e.g. the demo's). */
export function loadCohort(spec: CohortSpec, given?: SimOptions): Cohort {
  const noise = spec.noise === 'clean' ? { offlineRate: 0, duplicateRate: 0 } : {};
  const truth = new Map<string, Truth>();
  const events: SimEvent[] = [];
  let delivered = 0;
  const options =
    given ??
    simOptions({
      seed: spec.seed,
      students: spec.students,
      days: spec.days,
      startMs: EVAL_START_MS,
      ...noise,
    });
  for (const item of simulateCohort(options)) {
    if (item.kind === 'truth') {
      const t = item.truth;
      if (t.type === 'attempt') truth.set(`${t.event_id}|${t.topic_id}`, { p: t.p_correct, y: t.correct });
      continue;
    }
    for (const e of item.batch.events) {
      if (e.family === 'study-events') continue;
      delivered++;
      events.push(e);
    }
  }
  const inputs = decodeEvents(events);
  const students = [...new Set(inputs.map((i) => i.userId))].sort();
  return { spec, inputs, truth, students, delivered };
}
