/**
 * The breakdown `studystream bench processors --trace FILE` prints: where a stateful processor's batches spent
 * their time (services/stream/stateful/trace.ts marks), the slowest batches phase by phase, the longest pauses
 * between one batch's end and the next one's start, what the other processor was doing meanwhile, and the
 * PostgreSQL pool and Redis command queue sampled during the offered load.
 */
import type { BatchTrace } from '../services/stream/stateful/trace.ts';
import { percentiles } from './harness.ts';

export type ResourceSample = {
  at: number;
  poolTotal: number;
  poolIdle: number;
  poolWaiting: number;
  redisQueue: number;
};

const r0 = (x: number): string => String(Math.round(x));

/** Consecutive deltas of a trace: produced -> fetched -> started -> each mark. */
export function phasesOf(t: BatchTrace): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  if (t.producedFirst !== null && t.fetchedFirst !== null)
    out.push(['produced -> fetched (oldest record)', t.fetchedFirst - t.producedFirst]);
  const started = (t.marks[0] as [string, number])[1];
  if (t.fetchedFirst !== null) out.push(['fetched -> effect started (buffered)', started - t.fetchedFirst]);
  for (let i = 1; i < t.marks.length; i++) {
    const [name, at] = t.marks[i] as [string, number];
    const [prev, before] = t.marks[i - 1] as [string, number];
    out.push([`${prev} -> ${name}`, at - before]);
  }
  return out;
}

/** A trace's phases after its start; a tick (many steps) as its step count and slowest step phases. */
function steps(t: BatchTrace): string {
  const phases = phasesOf(t).filter(([n]) => !n.startsWith('produced') && !n.startsWith('fetched'));
  if (t.kind === 'batch') return phases.map(([n, ms]) => `${n} ${r0(ms)}`).join('; ');
  const count = t.marks.filter(([n]) => n === 'redis committed').length;
  const slowest = [...phases].sort((a, b) => b[1] - a[1]).slice(0, 3);
  return `${count} steps; slowest phases ${slowest.map(([n, ms]) => `${n} ${r0(ms)}`).join('; ')}`;
}

const endOf = (t: BatchTrace): number => (t.marks[t.marks.length - 1] as [string, number])[1];
const startOf = (t: BatchTrace): number => (t.marks[0] as [string, number])[1];

/** Markdown lines describing the traces of one offered-load phase. */
export function traceReport(
  traces: readonly BatchTrace[],
  samples: readonly ResourceSample[],
  focus: string,
): string[] {
  const lines: string[] = [];
  const mine = traces.filter((t) => t.processor === focus && t.kind === 'batch');
  const others = traces.filter((t) => t.processor !== focus || t.kind !== 'batch');
  lines.push(`### ${focus}: ${mine.length} batches`);
  // Phase percentiles over batches.
  const byPhase = new Map<string, number[]>();
  for (const t of mine)
    for (const [name, ms] of phasesOf(t)) {
      const list = byPhase.get(name) ?? [];
      list.push(ms);
      byPhase.set(name, list);
    }
  lines.push('| phase | p50 ms | p99 ms | max ms | total s |', '| --- | ---: | ---: | ---: | ---: |');
  for (const [name, list] of byPhase) {
    const p = percentiles(list);
    lines.push(
      `| ${name} | ${r0(p.p50)} | ${r0(p.p99)} | ${r0(p.max)} | ${((p.mean * p.count) / 1000).toFixed(1)} |`,
    );
  }
  // Slowest batches, end to end (oldest record produced -> last mark).
  const slow = mine
    .filter((t) => t.producedFirst !== null)
    .sort((a, b) => endOf(b) - (b.producedFirst as number) - (endOf(a) - (a.producedFirst as number)))
    .slice(0, 5);
  lines.push('', 'slowest batches (oldest record produced -> last mark):');
  for (const t of slow)
    lines.push(
      `- ${r0(endOf(t) - (t.producedFirst as number))} ms, ${t.records} records, pool ${JSON.stringify(t.pool)}: ${phasesOf(
        t,
      )
        .map(([n, ms]) => `${n} ${r0(ms)}`)
        .join('; ')}`,
    );
  // Longest pauses between the end of one batch and the start of the next, and what else ran meanwhile.
  const gaps: Array<{ from: number; to: number }> = [];
  for (let i = 1; i < mine.length; i++)
    gaps.push({ from: endOf(mine[i - 1] as BatchTrace), to: startOf(mine[i] as BatchTrace) });
  gaps.sort((a, b) => b.to - b.from - (a.to - a.from));
  lines.push(
    '',
    'longest pauses between batches (end of one -> start of the next) and what overlapped them:',
  );
  for (const g of gaps.slice(0, 3)) {
    const overlap = others.filter((t) => startOf(t) < g.to && endOf(t) > g.from);
    const s = samples.filter((x) => x.at >= g.from && x.at <= g.to);
    const maxWaiting = Math.max(0, ...s.map((x) => x.poolWaiting));
    const maxQueue = Math.max(0, ...s.map((x) => x.redisQueue));
    lines.push(
      `- ${r0(g.to - g.from)} ms; pool waiting max ${maxWaiting}, Redis queue max ${maxQueue}; overlapping: ${
        overlap
          .slice(0, 4)
          .map(
            (t) =>
              `${t.processor} ${t.kind} (${t.records} records, ${r0(endOf(t) - startOf(t))} ms: ${steps(t)})`,
          )
          .join(' | ') || 'nothing traced'
      }`,
    );
  }
  if (samples.length > 0) {
    const waiting = samples.filter((x) => x.poolWaiting > 0).length;
    lines.push(
      '',
      `resources (${samples.length} samples every 10 ms): pool total max ${Math.max(...samples.map((x) => x.poolTotal))}, waiting > 0 in ${waiting} samples (max ${Math.max(...samples.map((x) => x.poolWaiting))}); Redis command queue p99 ${r0(percentiles(samples.map((x) => x.redisQueue)).p99)}, max ${Math.max(...samples.map((x) => x.redisQueue))}`,
    );
  }
  return lines;
}
