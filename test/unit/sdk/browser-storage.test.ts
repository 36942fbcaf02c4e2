import { describe, expect, it } from 'vitest';
import {
  createEventBuilders,
  LocalStorageQueue,
  StudystreamClient,
  type WebStorage,
} from '../../../services/sdk/browser.ts';

/** The Web Storage contract in memory (the class only calls getItem/setItem/removeItem); the browser test uses the real one. */
class MapStorage implements WebStorage {
  readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}

const b = createEventBuilders({ platform: 'WEB' });
const answer = (i: number) =>
  b.questionAnswered({
    userId: 'u1',
    questionId: `q${i}`,
    topicIds: ['t'],
    isCorrect: true,
    attemptNumber: 1,
    timeToAnswerMs: 1000,
  });

describe('LocalStorageQueue', () => {
  it('keeps order across append, remove and save, and survives a new instance (a reload)', async () => {
    const storage = new MapStorage();
    const q = new LocalStorageQueue('k', storage);
    expect(await q.load()).toEqual([]);
    const events = [answer(1), answer(2), answer(3)];
    await q.append(events.slice(0, 2));
    await q.append(events.slice(2));
    await q.remove([events[1]!.event_id, 'unknown']);
    expect((await new LocalStorageQueue('k', storage).load()).map((e) => e.event_id)).toEqual([
      events[0]!.event_id,
      events[2]!.event_id,
    ]);
    await q.save([events[2]!]);
    expect(await new LocalStorageQueue('k', storage).load()).toEqual([events[2]]);
    await q.remove([events[2]!.event_id]);
    expect(storage.map.has('k')).toBe(false);
  });

  it('drops corrupt content and non-events on load', async () => {
    const storage = new MapStorage();
    storage.setItem('k', '{not json');
    expect(await new LocalStorageQueue('k', storage).load()).toEqual([]);
    storage.setItem('k', JSON.stringify([answer(1), { family: 'nope' }, 42]));
    expect(await new LocalStorageQueue('k', storage).load()).toHaveLength(1);
  });

  it('a full storage rejects the write: the client reports a storage error and still sends the event', async () => {
    const storage = new MapStorage();
    storage.setItem = () => {
      throw new DOMException('quota', 'QuotaExceededError');
    };
    const kinds: string[] = [];
    const sent: unknown[] = [];
    const client = new StudystreamClient({
      endpoint: 'http://ingest.test',
      apiKey: 'k',
      storage: new LocalStorageQueue('k', storage),
      flushIntervalMs: 0,
      onError: (e) => kinds.push(e.kind),
      fetch: async (_url, init) => {
        const body = JSON.parse(String(init?.body)) as { events: Array<{ event_id: string }> };
        sent.push(...body.events);
        return new Response(
          JSON.stringify({ results: body.events.map((e) => ({ event_id: e.event_id, status: 'accepted' })) }),
          { status: 200, headers: { 'content-type': 'application/json' } },
        );
      },
    });
    await client.track(answer(1));
    expect(kinds).toContain('storage');
    await client.flush();
    expect(sent).toHaveLength(1);
    await client.close();
  });
});
