import type { Pool } from '../shared/postgres.ts';
import { Counter, Gauge, type Registry } from '../shared/metrics.ts';
import type { Logger } from '../shared/logger.ts';
import type { Role } from './auth.ts';

/**
 * Batched audit log: requests append to an in-memory buffer (no I/O on the request path); a timer writes the
 * buffer every `flushMs`, or at once when it reaches `batchRows`, as one multi-row INSERT (unnest of arrays,
 * one round trip whatever the batch size). On failure the rows stay buffered and are retried next time;
 * beyond `maxBuffer` the oldest are dropped, counted in api_audit_dropped_total and logged. close() stops the
 * timer and flushes what is left (graceful shutdown).
 */

export type AuditRecord = {
  at: Date;
  requestId: string;
  actorId: string;
  actorRole: Role;
  method: string;
  route: string;
  subjectUserId: string | null;
  cohortId: string | null;
  status: number;
  params: Record<string, unknown>;
};

export interface AuditSink {
  record(entry: AuditRecord): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export type AuditOptions = { flushMs: number; batchRows: number; maxBuffer: number };

export class PgAuditLog implements AuditSink {
  private readonly pool: Pool;
  private readonly opts: AuditOptions;
  private readonly log: Logger;
  private buffer: AuditRecord[] = [];
  private flushing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly written: Counter;
  private readonly dropped: Counter;
  private readonly failures: Counter;
  private closed = false;

  constructor(pool: Pool, opts: AuditOptions, registry: Registry, log: Logger) {
    this.pool = pool;
    this.opts = opts;
    this.log = log;
    this.written = new Counter({
      name: 'api_audit_records_written_total',
      help: 'audit records written to PostgreSQL',
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'api_audit_dropped_total',
      help: 'audit records dropped because the buffer overflowed while PostgreSQL was unreachable',
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'api_audit_flush_failures_total',
      help: 'failed audit flushes (rows are kept and retried)',
      registers: [registry],
    });
    const buffer = () => this.buffer.length;
    new Gauge({
      name: 'api_audit_buffered',
      help: 'audit records waiting to be written',
      registers: [registry],
      collect() {
        this.set(buffer());
      },
    });
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
  }

  record(entry: AuditRecord): void {
    this.buffer.push(entry);
    if (this.buffer.length > this.opts.maxBuffer) {
      const excess = this.buffer.length - this.opts.maxBuffer;
      this.buffer.splice(0, excess);
      this.dropped.inc(excess);
      this.log.error({ dropped: excess }, 'audit buffer overflow: oldest records dropped');
    }
    if (this.buffer.length >= this.opts.batchRows) void this.flush();
  }

  /** Writes everything buffered so far (waits for a flush already running, then writes the rest). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.write(batch).then(
      () => {
        this.written.inc(batch.length);
      },
      (err: unknown) => {
        this.failures.inc();
        // Keep the rows, oldest first, for the next attempt.
        this.buffer = batch.concat(this.buffer);
        if (!this.closed)
          this.log.warn(
            { err: (err as Error).message, rows: batch.length },
            'audit flush failed; will retry',
          );
        else throw err;
      },
    );
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private async write(batch: AuditRecord[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_log (at, request_id, actor_id, actor_role, method, route, subject_user_id, cohort_id, status, params)
       SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                            $7::text[], $8::text[], $9::smallint[], $10::jsonb[])`,
      [
        batch.map((r) => r.at),
        batch.map((r) => r.requestId),
        batch.map((r) => r.actorId),
        batch.map((r) => r.actorRole),
        batch.map((r) => r.method),
        batch.map((r) => r.route),
        batch.map((r) => r.subjectUserId),
        batch.map((r) => r.cohortId),
        batch.map((r) => r.status),
        batch.map((r) => JSON.stringify(r.params)),
      ],
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    try {
      await this.flush();
    } catch (err) {
      this.log.error({ err: (err as Error).message, lost: this.buffer.length }, 'final audit flush failed');
      throw err;
    }
  }
}

/** Keeps records in memory (unit tests). */
export class MemoryAuditLog implements AuditSink {
  readonly records: AuditRecord[] = [];
  record(entry: AuditRecord): void {
    this.records.push(entry);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
