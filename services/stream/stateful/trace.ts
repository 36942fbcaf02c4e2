/**
 * Per-batch timestamps of the stateful processors, for `studystream bench processors --trace` (no tracer in
 * production: every hook is behind `deps.trace?.`). What a batch records (Date.now() ms, the clock of the records'
 * broker timestamps on one machine): when its records were first produced (broker timestamp), fetched (decoded),
 * when the effect started, and one mark per phase of the effect (PostgreSQL connection acquired, positions locked,
 * transaction committed, invalidations published, ...). The runtime's `flush` event adds the Kafka offset commit.
 */
export type BatchTrace = {
  processor: string;
  /** `batch` (records) or `tick` (the sessions sweep). */
  kind: 'batch' | 'tick';
  records: number;
  /** Oldest and newest broker timestamp of the batch's records. */
  producedFirst: number | null;
  producedLast: number | null;
  /** First and last decode of the batch's records (the fetch that delivered them). */
  fetchedFirst: number | null;
  fetchedLast: number | null;
  /** Phase marks in order of arrival: [name, Date.now()]; the first is `started`. */
  marks: Array<[string, number]>;
  /** The PostgreSQL pool at the start: connections open, idle, and callers waiting for one. */
  pool: { total: number; idle: number; waiting: number } | null;
};

type PoolStats = { totalCount: number; idleCount: number; waitingCount: number };

/** Collects BatchTraces; one tracer may serve several processors (their traces carry the processor's name). */
export class BatchTracer {
  readonly traces: BatchTrace[] = [];
  private readonly fetched = new Map<string, number>();
  private readonly pool: PoolStats | undefined;

  constructor(pool?: PoolStats) {
    this.pool = pool;
  }

  /** A record was decoded (called from the processor's decode step). */
  decoded(processor: string, record: { topic: string; partition: number; offset: string }): void {
    const k = `${processor}|${record.topic}|${record.partition}|${record.offset}`;
    if (!this.fetched.has(k)) this.fetched.set(k, Date.now());
  }

  /** The effect of a batch (or a tick) starts; returns the trace to mark. */
  start(
    processor: string,
    kind: BatchTrace['kind'],
    items: ReadonlyArray<{ record: { topic: string; partition: number; offset: string; timestamp: string } }>,
  ): BatchTrace {
    const now = Date.now();
    let producedFirst: number | null = null;
    let producedLast: number | null = null;
    let fetchedFirst: number | null = null;
    let fetchedLast: number | null = null;
    for (const { record } of items) {
      const ts = Number(record.timestamp);
      if (ts > 0) {
        producedFirst = producedFirst === null ? ts : Math.min(producedFirst, ts);
        producedLast = producedLast === null ? ts : Math.max(producedLast, ts);
      }
      const k = `${processor}|${record.topic}|${record.partition}|${record.offset}`;
      const f = this.fetched.get(k);
      if (f === undefined) continue;
      this.fetched.delete(k);
      fetchedFirst = fetchedFirst === null ? f : Math.min(fetchedFirst, f);
      fetchedLast = fetchedLast === null ? f : Math.max(fetchedLast, f);
    }
    const p = this.pool;
    const trace: BatchTrace = {
      processor,
      kind,
      records: items.length,
      producedFirst,
      producedLast,
      fetchedFirst,
      fetchedLast,
      marks: [['started', now]],
      pool: p ? { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount } : null,
    };
    this.traces.push(trace);
    return trace;
  }

  /** Marks a phase of a trace as done now. */
  static mark(trace: BatchTrace | undefined, phase: string): void {
    trace?.marks.push([phase, Date.now()]);
  }

  /** The newest trace of a processor (the runtime's `flush` event follows its batch's effect). */
  last(processor: string): BatchTrace | undefined {
    for (let i = this.traces.length - 1; i >= 0; i--) {
      const t = this.traces[i] as BatchTrace;
      if (t.processor === processor && t.kind === 'batch') return t;
    }
    return undefined;
  }
}
