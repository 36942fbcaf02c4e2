import {
  CH_TOO_MANY_SIMULTANEOUS_QUERIES,
  clickHouseErrorCode,
  type RowReader,
} from '../shared/clickhouse.ts';
import { Counter, Gauge, type Registry } from '../shared/metrics.ts';
import { ApiError } from './errors.ts';

/**
 * Back-pressure on the API's ClickHouse reads. An API process runs at most `maxConcurrent` per-student ClickHouse
 * queries at once (API_CLICKHOUSE_MAX_CONCURRENT); a query beyond that waits its turn (first come, first served) for
 * at most `waitMs` (API_CLICKHOUSE_WAIT_MS), and a request that cannot get a slot in time is answered 503 with
 * Retry-After instead of piling onto the server. Without the gate an overload (insights alone at 80/s on the
 * 1,000-student bench: every request a raw-history read) queued hundreds of queries on ClickHouse, which refused the
 * ones past its max_concurrent_queries (100) with "Too many simultaneous queries" (code 202), answered as 500s, while
 * the accepted ones took seconds. That refusal, should it still happen (several API processes, other clients of the
 * server), is a 503 as well: both are "busy, retry shortly", never an internal error.
 *
 * The 503 body is the API's error body with code `overloaded` and `details.reason`:
 *   clickhouse_queue_timeout       no slot of this process within waitMs
 *   clickhouse_too_many_queries    the server refused the query (code 202)
 */
export type GateOptions = { maxConcurrent: number; waitMs: number };

/** The defaults of API_CLICKHOUSE_MAX_CONCURRENT and API_CLICKHOUSE_WAIT_MS (config.ts). */
export const DEFAULT_GATE: GateOptions = { maxConcurrent: 8, waitMs: 1000 };

/** Seconds a client is asked to wait before retrying (Retry-After). */
const RETRY_AFTER_SEC = 1;

type OverloadReason = 'clickhouse_queue_timeout' | 'clickhouse_too_many_queries';

/** The 503 `overloaded`, with its reason. */
class OverloadedError extends ApiError {
  readonly reason: OverloadReason;
  constructor(reason: OverloadReason, details: Record<string, unknown> = {}) {
    super(
      503,
      'overloaded',
      'the analytics store is busy; retry shortly',
      { reason, retryAfterSec: RETRY_AFTER_SEC, ...details },
      { 'Retry-After': String(RETRY_AFTER_SEC) },
    );
    this.reason = reason;
  }
}

/**
 * The 503 a failed request answers when it failed for overload: the gate's own (no slot in time) or a ClickHouse
 * refusal "too many simultaneous queries" (from either client); null for any other error.
 */
export function overloadOf(err: unknown): OverloadedError | null {
  if (err instanceof OverloadedError) return err;
  return clickHouseErrorCode(err) === CH_TOO_MANY_SIMULTANEOUS_QUERIES
    ? new OverloadedError('clickhouse_too_many_queries')
    : null;
}

type Waiter = { grant: () => void; timer: NodeJS.Timeout };

/** A counting semaphore whose waiters give up after `waitMs` (the gate's 503). */
export class ReadGate {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private readonly opts: GateOptions;
  private readonly rejected?: Counter<'reason'>;

  constructor(opts: GateOptions, registry?: Registry) {
    if (!Number.isInteger(opts.maxConcurrent) || opts.maxConcurrent < 1)
      throw new Error('maxConcurrent must be a positive integer');
    this.opts = opts;
    if (registry) {
      this.rejected = new Counter({
        name: 'api_clickhouse_overloaded_total',
        help: 'requests answered 503 overloaded, by reason (clickhouse_queue_timeout, clickhouse_too_many_queries)',
        labelNames: ['reason'],
        registers: [registry],
      });
      const running = () => this.active;
      const waiting = () => this.queue.length;
      new Gauge({
        name: 'api_clickhouse_reads_in_flight',
        help: 'ClickHouse reads of this process running (at most API_CLICKHOUSE_MAX_CONCURRENT)',
        registers: [registry],
        collect() {
          this.set(running());
        },
      });
      new Gauge({
        name: 'api_clickhouse_reads_waiting',
        help: 'ClickHouse reads waiting for a slot',
        registers: [registry],
        collect() {
          this.set(waiting());
        },
      });
    }
  }

  /** Counts a request answered 503 (metrics; the respond step calls it once per request). */
  count(reason: OverloadReason): void {
    this.rejected?.inc({ reason });
  }

  /** Runs `fn` holding a slot; throws the 503 (clickhouse_queue_timeout) when no slot frees up within waitMs. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A free slot runs `fn` in the caller's own call (no await first), so the statement's stack still names the
    // code that sent it (services/shared/clickhouse-capture.ts records that line as the statement's site).
    if (this.active < this.opts.maxConcurrent) this.active++;
    else await this.waitForSlot();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private waitForSlot(): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(
            new OverloadedError('clickhouse_queue_timeout', {
              waitedMs: this.opts.waitMs,
              maxConcurrent: this.opts.maxConcurrent,
            }),
          );
        }, this.opts.waitMs),
      };
      this.queue.push(waiter);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) {
      // The slot passes to the next waiter: `active` stays.
      clearTimeout(next.timer);
      next.grant();
    } else {
      this.active--;
    }
  }
}

/** `reader` with every query through the gate. */
export function gatedReader(reader: RowReader, gate: ReadGate): RowReader {
  return { rows: <T>(query: string) => gate.run(() => reader.rows<T>(query)) };
}
