import { curriculum } from './curriculum.ts';
import { Rng } from './prng.ts';
import { drawProfile } from './profile.ts';
import { StudentSim } from './student.ts';
import { DEFAULT_SIM_OPTIONS, type SimEvent, type SimItem, type SimOptions } from './types.ts';

const DAY = 86_400_000;

/**
 * How far the simulated period ends before the wall clock at least. A session that starts before the period's end
 * may run past it (a question block, a 15-minute timeout end): the margin keeps every event in the past, so ingest
 * never sees one in the future (test/unit/simulator/no-future-events.test.ts).
 */
export const END_MARGIN_MS = 2 * 3_600_000;

/**
 * Options with defaults; the period ends at the last UTC midnight at least END_MARGIN_MS before `now` (so at
 * 00:05 UTC it ends at yesterday's midnight, not today's).
 */
export function simOptions(
  partial: Partial<SimOptions> & Pick<SimOptions, 'seed' | 'students' | 'days'>,
  now = Date.now(),
): SimOptions {
  const startMs = partial.startMs ?? utcMidnight(now - END_MARGIN_MS) - partial.days * DAY;
  return { ...DEFAULT_SIM_OPTIONS, ...partial, startMs };
}

export function utcMidnight(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

/** Creates student `index` of a cohort exactly as `simulateCohort` does (the live demo reuses it). */
export function createStudent(opts: SimOptions, index: number, out: SimItem[]): StudentSim {
  const cur = curriculum();
  return new StudentSim(
    drawProfile(opts.seed, index, opts, cur),
    Rng.derive(opts.seed, 'student', index),
    opts,
    out,
    cur,
  );
}

/**
 * The cohort as a lazy stream: day by day, student by student, each student's requests (batches) in the order the
 * device sends them, interleaved with the ground truth of each attempt; then each student's final truth.
 * Only one student-day of output is buffered at a time, so millions of events never sit in memory.
 * Each student draws from their own random stream (seed, index): the stream is a pure function of the options.
 */
export function* simulateCohort(opts: SimOptions): Generator<SimItem> {
  const out: SimItem[] = [];
  const students: StudentSim[] = [];
  for (let i = 0; i < opts.students; i++) students.push(createStudent(opts, i, out));
  for (let day = 0; day < opts.days; day++) {
    for (const student of students) {
      student.simulateDay(day, opts.days);
      yield* drain(out);
    }
    opts.onDay?.(day + 1, opts.days);
  }
  const endMs = opts.startMs + opts.days * DAY;
  for (const student of students) {
    student.finish(endMs);
    yield* drain(out);
  }
  const examRng = Rng.derive(opts.seed, 'exam');
  for (const student of students) yield { kind: 'truth', truth: student.truth(endMs, examRng.normal()) };
}

function* drain(out: SimItem[]): Generator<SimItem> {
  if (out.length === 0) return;
  const items = out.splice(0, out.length);
  yield* items;
}

/** Only the events (every copy, duplicates included), in delivery order. */
export function* cohortEvents(
  opts: SimOptions,
): Generator<SimEvent & { duplicate: boolean; offline: boolean }> {
  for (const item of simulateCohort(opts)) {
    if (item.kind !== 'batch') continue;
    for (const e of item.batch.events)
      yield { ...e, duplicate: item.batch.duplicate, offline: item.batch.offline };
  }
}
