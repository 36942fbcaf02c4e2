import { applyServerFields, type RequestContext } from '../ingest/index.ts';
import type { Profile } from './profile.ts';
import type { Rng } from './prng.ts';
import type { ClientBatch, EventRecord, SimEvent, SimItem, SimOptions } from './types.ts';

/**
 * Device delivery: how a student's events reach the server. The student's behaviour (student.ts) hands each
 * event to the device; the device decides when it is sent (online batching, offline queues synced late), re-sends
 * some batches (client retries: duplicates), and carries the device clock's skew. The sinks that deliver the
 * resulting requests to Kafka or to ingest are in delivery.ts.
 */

const MIN = 60_000;
const HOUR = 3_600_000;

export type Delivery = Pick<
  SimOptions,
  'duplicateRate' | 'maxOfflineDelayMs' | 'onlineFlushMs' | 'batchSize'
>;

/**
 * A student's device: turns the events of the student's sessions into the requests the app would send. Online,
 * it flushes at `batchSize` events, when its oldest buffered event is `onlineFlushMs` old, and at session end.
 * Offline, it queues whole sessions and syncs them when connectivity returns (at most `maxOfflineDelayMs` after the
 * session ended, or earlier when the app is opened online again). Retries resend a batch as is.
 */
export class Device {
  private buffer: SimEvent[] = [];
  private queue: SimEvent[] = [];
  private queueSyncAt = Number.POSITIVE_INFINITY;
  private seq = 0;
  private readonly p: Profile;
  private readonly rng: Rng;
  private readonly opts: Delivery;
  private readonly out: SimItem[];

  constructor(p: Profile, rng: Rng, opts: Delivery, out: SimItem[]) {
    this.p = p;
    this.rng = rng;
    this.opts = opts;
    this.out = out;
  }

  get hasQueue(): boolean {
    return this.queue.length > 0;
  }

  /** Syncs the offline queue if connectivity came back before `nowMs` (or at `nowMs` when forced). */
  syncDue(nowMs: number, force = false): void {
    if (this.queue.length === 0) return;
    if (!force && this.queueSyncAt > nowMs) return;
    const last = this.queue[this.queue.length - 1]!.record.occurred_at;
    const sentAt = Math.max(last + 1_000, Math.min(this.queueSyncAt, nowMs));
    const events = this.queue;
    this.queue = [];
    this.queueSyncAt = Number.POSITIVE_INFINITY;
    for (let i = 0; i < events.length; i += this.opts.batchSize) {
      this.send(events.slice(i, i + this.opts.batchSize), sentAt + (i / this.opts.batchSize) * 150, true);
    }
  }

  add(event: SimEvent, offline: boolean): void {
    if (offline) {
      this.queue.push(event);
      return;
    }
    const t = event.record.occurred_at;
    // the SDK's flush timer fired when the oldest buffered event became onlineFlushMs old
    const first = this.buffer[0]?.record.occurred_at;
    if (first !== undefined && t - first >= this.opts.onlineFlushMs) {
      const last = this.buffer[this.buffer.length - 1]!.record.occurred_at;
      this.flushOnline(
        Math.max(last, Math.min(t - 1, first + this.opts.onlineFlushMs + this.rng.uniform(0, 1_000))),
      );
    }
    this.buffer.push(event);
    if (this.buffer.length >= this.opts.batchSize) this.flushOnline(t + this.rng.uniform(50, 500));
  }

  /** Flushes what the device holds at the end of a session (online) or schedules the offline sync. */
  endSession(endMs: number, offline: boolean): void {
    if (offline) {
      const delay = Math.min(this.opts.maxOfflineDelayMs, Math.max(2 * MIN, this.rng.logNormal(3 * HOUR, 1)));
      this.queueSyncAt = Math.min(this.queueSyncAt, endMs + delay);
    } else if (this.buffer.length > 0) {
      this.flushOnline(endMs + this.rng.uniform(100, 1_500));
    }
  }

  private flushOnline(sentAt: number): void {
    const events = this.buffer;
    this.buffer = [];
    this.send(events, sentAt, false);
  }

  private send(events: SimEvent[], sentAt: number, offline: boolean): void {
    const sent = Math.round(sentAt);
    const base = {
      userId: this.p.userId,
      platform: this.p.platform,
      appVersion: this.p.appVersion,
      userAgent: this.p.userAgent,
      clockSkewMs: this.p.clockSkewMs,
      offline,
    };
    const latency = Math.round(Math.min(5_000, this.rng.logNormal(offline ? 250 : 80, 0.6)));
    const batch: ClientBatch = {
      ...base,
      batchId: `${this.p.userId}-b${++this.seq}`,
      duplicate: false,
      sentAt: sent,
      receivedAt: sent + latency,
      events: stamp(events, sent + latency, this.p),
    };
    this.out.push({ kind: 'batch', batch });
    if (this.rng.chance(this.opts.duplicateRate)) {
      const retryAt = sent + latency + Math.round(this.rng.logNormal(2_000, 0.5));
      const receivedAt = retryAt + Math.round(this.rng.logNormal(80, 0.6));
      this.out.push({
        kind: 'batch',
        batch: {
          ...base,
          batchId: `${batch.batchId}-retry`,
          duplicate: true,
          sentAt: retryAt,
          receivedAt,
          events: stamp(events, receivedAt, this.p),
        },
      });
    }
  }
}

/**
 * Records as Kafka holds them after ingest, stamped by ingest's own step (applyServerFields): received_at, the
 * skew-corrected occurred_at and the client context ingest derives (offline_synced by ingest's rule,
 * clock_skew_ms = server minus client clock). The device's events are in client time (true time + its skew); the
 * simulator knows the device's skew exactly, where ingest estimates it from sent_at (up to the network latency),
 * so the corrected occurred_at is the true time. Browser and OS are the profile's (ingest reduces the user agent
 * to the same). The input events are left untouched (a re-sent batch is stamped again, from the same events).
 */
function stamp(events: SimEvent[], receivedAt: number, p: Profile): SimEvent[] {
  const skewMs = p.clockSkewMs;
  const ctx: RequestContext = {
    receivedAt,
    skewMs: skewMs === 0 ? 0 : -skewMs,
    ipHash: null,
    userAgent: { browser: p.browser, os: p.os },
  };
  return events.map((e) => {
    const record = skewMs === 0 ? e.record : { ...e.record, occurred_at: e.record.occurred_at + skewMs };
    const stamped = applyServerFields({ family: e.family, record }, ctx);
    return { family: e.family, record: stamped.record as EventRecord };
  });
}
