import type { OutgoingEvent } from '../shared/producer.ts';

/** Kafka did not acknowledge in time (or failed): the request gets 503 and the client retries. */
export class UnavailableError extends Error {}

export interface Publisher {
  /** Resolves once Kafka acknowledged every record (acks=all); rejects with UnavailableError otherwise. */
  publish(events: readonly OutgoingEvent[]): Promise<void>;
  /** Waits until everything queued or in flight settled. */
  drain(): Promise<void>;
}

type Pending = {
  events: readonly OutgoingEvent[];
  resolve: () => void;
  reject: (err: Error) => void;
  settled: boolean;
  timer: NodeJS.Timeout;
};

export type BatchingOptions = {
  lingerMs: number;
  maxRecords: number;
  concurrency: number;
  timeoutMs: number;
  onBatch?: (records: number, seconds: number, ok: boolean) => void;
};

/**
 * Coalesces the records of concurrent requests into shared sendBatch calls: a batch leaves after `lingerMs`
 * or as soon as `maxRecords` are queued, with at most `concurrency` batches in flight (records keep queueing
 * meanwhile, so batches grow with load). A request whose records are not acknowledged within `timeoutMs` is
 * rejected; if its records were already handed to Kafka they may still land (downstream dedupes on event_id).
 */
export class BatchingPublisher implements Publisher {
  private readonly send: (events: OutgoingEvent[]) => Promise<unknown>;
  private readonly opts: BatchingOptions;
  private queue: Pending[] = [];
  private queuedRecords = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlightPromises = new Set<Promise<void>>();

  constructor(send: (events: OutgoingEvent[]) => Promise<unknown>, opts: BatchingOptions) {
    this.send = send;
    this.opts = opts;
  }

  publish(events: readonly OutgoingEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = {
        events,
        resolve,
        reject,
        settled: false,
        timer: setTimeout(
          () => this.fail(pending, new UnavailableError('Kafka did not acknowledge in time')),
          this.opts.timeoutMs,
        ),
      };
      this.queue.push(pending);
      this.queuedRecords += events.length;
      this.schedule();
    });
  }

  private fail(p: Pending, err: Error): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    const i = this.queue.indexOf(p);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.queuedRecords -= p.events.length;
    }
    p.reject(err);
  }

  private succeed(p: Pending): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    p.resolve();
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.inFlight >= this.opts.concurrency) return;
    if (this.queuedRecords >= this.opts.maxRecords || this.opts.lingerMs === 0) {
      this.flush();
    } else {
      this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0 || this.inFlight >= this.opts.concurrency) return;
    const batch: Pending[] = [];
    let records = 0;
    while (
      this.queue.length > 0 &&
      (batch.length === 0 || records + this.queue[0]!.events.length <= this.opts.maxRecords)
    ) {
      const p = this.queue.shift()!;
      batch.push(p);
      records += p.events.length;
    }
    this.queuedRecords -= records;
    this.inFlight++;
    const start = performance.now();
    const events = batch.flatMap((p) => p.events);
    const done = this.send(events).then(
      () => {
        this.opts.onBatch?.(events.length, (performance.now() - start) / 1000, true);
        for (const p of batch) this.succeed(p);
      },
      (err: unknown) => {
        this.opts.onBatch?.(events.length, (performance.now() - start) / 1000, false);
        const error = new UnavailableError(`Kafka produce failed: ${(err as Error)?.message ?? String(err)}`);
        for (const p of batch) this.fail(p, error);
      },
    );
    const tracked = done.finally(() => {
      this.inFlight--;
      this.inFlightPromises.delete(tracked);
      this.schedule();
    });
    this.inFlightPromises.add(tracked);
    this.schedule();
  }

  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlightPromises.size > 0) {
      if (this.queue.length > 0 && this.inFlight < this.opts.concurrency) this.flush();
      await Promise.race([...this.inFlightPromises, new Promise((r) => setTimeout(r, 10))]);
    }
  }
}
