import type { Logger } from '../shared/logger.ts';
import type { OutgoingEvent } from '../shared/producer.ts';
import { createStudent } from './cohort.ts';
import { Rng } from './prng.ts';
import type { StudentSim } from './student.ts';
import type { ClientBatch, SimItem, SimOptions } from './types.ts';

const MIN = 60_000;
const DAY = 86_400_000;

export interface LiveOptions {
  /** The cohort the live students belong to (its history is replayed silently to rebuild their state). */
  cohort: SimOptions;
  /** How many of the cohort's students (indices 0..n-1) keep studying. */
  students: number;
  publish: (events: OutgoingEvent[]) => Promise<unknown>;
  log: Logger;
  signal: AbortSignal;
  /** Tick of the publishing loop. */
  tickMs?: number;
  /** Wall clock (tests inject one). */
  now?: () => number;
}

interface LiveStudent {
  sim: StudentSim;
  out: SimItem[];
  queue: ClientBatch[];
}

/**
 * Keeps a few students of a cohort studying in real time so the dashboards move: each student's history is replayed
 * silently (deterministic, so they continue where the loaded cohort left them), then they study session after
 * session with short breaks, and each request is published when the wall clock reaches its send time, with
 * received_at = the real publish time. Runs until the signal aborts; returns the number of events published.
 */
export async function runLive(opts: LiveOptions): Promise<number> {
  const now = opts.now ?? Date.now;
  const tick = opts.tickMs ?? 1_000;
  const cohort: SimOptions = { ...opts.cohort, onlineFlushMs: 5_000, onDay: undefined };
  const students: LiveStudent[] = [];
  for (let i = 0; i < Math.min(opts.students, cohort.students); i++) {
    const out: SimItem[] = [];
    const sim = createStudent(cohort, i, out);
    for (let day = 0; day < cohort.days; day++) {
      sim.simulateDay(day, cohort.days);
      out.length = 0;
    }
    sim.finish(cohort.startMs + cohort.days * DAY);
    out.length = 0;
    sim.setHorizon(Number.POSITIVE_INFINITY);
    sim.reseed(Rng.derive(cohort.seed, 'live', i, now()));
    students.push({ sim, out, queue: [] });
  }
  opts.log.info({ students: students.length }, 'demo students are studying live');
  let published = 0;
  const breakRng = Rng.derive(cohort.seed, 'live-breaks', now());
  let due: OutgoingEvent[] = [];
  while (!opts.signal.aborted) {
    const t = now();
    for (const s of students) {
      if (s.queue.length === 0) {
        const start = Math.max(t + 1_000, s.sim.lastActivityAt + Math.round(breakRng.uniform(1, 8) * MIN));
        const day = Math.max(0, Math.floor((start - cohort.startMs) / DAY));
        s.sim.runSession(start, day, breakRng.uniform(15, 40));
        s.sim.finish(s.sim.lastActivityAt + 2_000);
        for (const item of s.out) if (item.kind === 'batch') s.queue.push(item.batch);
        s.out.length = 0;
      }
      while (s.queue.length > 0 && s.queue[0]!.sentAt <= t) {
        for (const e of s.queue.shift()!.events)
          due.push({ family: e.family, record: { ...e.record, received_at: now() } });
      }
    }
    if (due.length > 0) {
      try {
        await opts.publish(due);
        published += due.length;
        due = [];
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, 'live demo events not published; retrying next tick');
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, tick);
      opts.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
  return published;
}
