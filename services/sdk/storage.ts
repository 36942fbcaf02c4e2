import type { WireEvent } from './types.ts';

/**
 * Where the client keeps events until the server has answered for them (the offline queue).
 *
 * The client calls these one at a time (never concurrently), in this order: `load` once at start, then any mix of
 * `append` (new events, before they are sent), `remove` (events the server answered for, or dropped by the
 * overflow policy) and `save` (replace the whole content). Implementations must make each call durable before its
 * promise resolves if they promise crash safety, and must keep the order of appended events.
 */
export interface QueueStorage {
  /** Everything still queued, oldest first (events left over from a previous run or crash). */
  load(): Promise<WireEvent[]>;
  /** Adds events at the end of the queue. */
  append(events: readonly WireEvent[]): Promise<void>;
  /** Removes the events with these ids (unknown ids are ignored). */
  remove(eventIds: readonly string[]): Promise<void>;
  /** Replaces the whole queue. */
  save(events: readonly WireEvent[]): Promise<void>;
}

/** Keeps the queue in memory only: events survive network outages but not a restart. The default. */
export class MemoryStorage implements QueueStorage {
  private events: WireEvent[] = [];

  async load(): Promise<WireEvent[]> {
    return [...this.events];
  }

  async append(events: readonly WireEvent[]): Promise<void> {
    this.events.push(...events);
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    const gone = new Set(eventIds);
    this.events = this.events.filter((e) => !gone.has(e.event_id));
  }

  async save(events: readonly WireEvent[]): Promise<void> {
    this.events = [...events];
  }

  /** How many events are stored (for tests and diagnostics). */
  get size(): number {
    return this.events.length;
  }
}
