import type { QueueStorage } from './storage.ts';
import { isWireEvent, type WireEvent } from './types.ts';

/** The part of the Web Storage API the queue uses (window.localStorage, or sessionStorage). */
export type WebStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/**
 * The offline queue in the browser's localStorage: events survive a reload, a closed tab and a crash, as long as
 * the origin's storage is kept. One JSON array under `key` (one key per app and user); every call rewrites it
 * synchronously, so each promise resolves once the browser holds the new content. localStorage allows about 5 MB
 * per origin: keep the client's maxQueueSize so that the queue fits (a few thousand events). A full storage makes
 * the call reject, which the client reports through onError as a `storage` error and keeps the events in memory.
 * Entries that are not events (a corrupt or foreign value) are dropped on load.
 */
export class LocalStorageQueue implements QueueStorage {
  private readonly key: string;
  private readonly storage: WebStorage;
  private events: WireEvent[] | null = null;

  constructor(key = 'studystream.queue', storage: WebStorage = globalThis.localStorage) {
    if (!storage) throw new Error('LocalStorageQueue: no Web Storage in this environment');
    this.key = key;
    this.storage = storage;
  }

  async load(): Promise<WireEvent[]> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.storage.getItem(this.key) ?? '[]');
    } catch {
      parsed = [];
    }
    this.events = Array.isArray(parsed) ? parsed.filter(isWireEvent) : [];
    return [...this.events];
  }

  async append(events: readonly WireEvent[]): Promise<void> {
    this.write([...(await this.current()), ...events]);
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    const gone = new Set(eventIds);
    this.write((await this.current()).filter((e) => !gone.has(e.event_id)));
  }

  async save(events: readonly WireEvent[]): Promise<void> {
    this.write([...events]);
  }

  /** Events stored now (diagnostics, the practice page's queue counter). */
  get size(): number {
    return this.events?.length ?? 0;
  }

  private async current(): Promise<WireEvent[]> {
    return this.events ?? (await this.load());
  }

  private write(events: WireEvent[]): void {
    if (events.length === 0) this.storage.removeItem(this.key);
    else this.storage.setItem(this.key, JSON.stringify(events));
    this.events = events;
  }
}
