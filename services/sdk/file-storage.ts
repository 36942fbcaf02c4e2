import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { QueueStorage } from './storage.ts';
import { isWireEvent, type WireEvent } from './types.ts';

export type FileStorageOptions = {
  /** fsync the file (and its directory after the rename) before a write resolves. Default true. */
  fsync?: boolean;
};

/**
 * A crash-safe offline queue for Node: one JSON object per line in `path`.
 *
 * Every change rewrites the whole file to a temporary sibling, fsyncs it and renames it over `path`, so at any
 * instant the file holds either the old or the new queue, never a torn mix; a crash (even `kill -9` or power
 * loss with fsync on) loses nothing whose `append` had resolved. The client persists events before it sends them
 * and removes them only after the server answered, so a crash at any point gives at-least-once delivery, which
 * the server's event_id deduplication turns into exactly-once.
 *
 * Cost: each write is O(queue size). The client coalesces the events tracked while a write is in progress into
 * the next write, so the number of writes stays small; keep `maxQueueSize` moderate (the default 10,000 events
 * is a few MB). Node only: import it from services/sdk/node.ts, not from a browser bundle.
 */
export class FileStorage implements QueueStorage {
  readonly path: string;
  private readonly fsync: boolean;
  private events: WireEvent[] | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private seq = 0;

  constructor(path: string, opts: FileStorageOptions = {}) {
    this.path = path;
    this.fsync = opts.fsync ?? true;
  }

  load(): Promise<WireEvent[]> {
    return this.serial(async () => [...(await this.current())]);
  }

  append(events: readonly WireEvent[]): Promise<void> {
    return this.serial(async () => {
      const next = [...(await this.current()), ...events];
      await this.write(next);
    });
  }

  remove(eventIds: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const gone = new Set(eventIds);
      const before = await this.current();
      const next = before.filter((e) => !gone.has(e.event_id));
      if (next.length !== before.length) await this.write(next);
    });
  }

  save(events: readonly WireEvent[]): Promise<void> {
    return this.serial(() => this.write([...events]));
  }

  /** Runs storage operations one after another, whatever the caller does. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.chain.then(op, op);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async current(): Promise<WireEvent[]> {
    if (this.events === null) this.events = await this.read();
    return this.events;
  }

  private async read(): Promise<WireEvent[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const seen = new Set<string>();
    const events: WireEvent[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // cannot happen with atomic writes; tolerate a file edited or truncated by hand
      }
      if (isWireEvent(parsed) && !seen.has(parsed.event_id)) {
        seen.add(parsed.event_id);
        events.push(parsed);
      }
    }
    return events;
  }

  private async write(events: WireEvent[]): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.${++this.seq}.tmp`;
    const body = events.map((e) => JSON.stringify(e) + '\n').join('');
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body, 'utf8');
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    if (this.fsync) await syncDir(dir);
    this.events = events;
  }
}

/** Makes a rename durable (best effort: some platforms cannot open a directory). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows and some file systems refuse; the rename itself is still atomic.
  }
}
