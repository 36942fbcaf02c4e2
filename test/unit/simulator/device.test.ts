import { describe, expect, it } from 'vitest';
import { isOfflineSynced } from '../../../services/ingest/index.ts';
import { curriculum } from '../../../services/simulator/curriculum.ts';
import { Device, type Delivery } from '../../../services/simulator/device.ts';
import { drawProfile, type Profile } from '../../../services/simulator/profile.ts';
import { Rng } from '../../../services/simulator/prng.ts';
import type { ClientBatch, SimEvent, SimItem } from '../../../services/simulator/types.ts';

/** Device delivery on plain events: when requests are sent, offline queues, clock skew and re-sends. */

const MIN = 60_000;
const T0 = Date.UTC(2025, 2, 3, 9);
const delivery: Delivery = {
  duplicateRate: 0,
  maxOfflineDelayMs: 72 * 60 * MIN,
  onlineFlushMs: 30_000,
  batchSize: 3,
};

function profile(over: Partial<Profile> = {}): Profile {
  return { ...drawProfile('device-test', 0, { offlineRate: 0 }, curriculum()), ...over };
}

function event(p: Profile, i: number, at: number): SimEvent {
  return {
    family: 'study-events',
    record: {
      event_id: `e${i}`,
      user_id: p.userId,
      occurred_at: at,
      received_at: 0,
      schema_version: 1,
      session_id: 's1',
      time_zone: 'Etc/GMT',
      client: {
        platform: p.platform,
        app_version: p.appVersion,
        ip_hash: null,
        browser: p.browser,
        os: p.os,
        offline_synced: false,
        clock_skew_ms: 0,
      },
      event_type: 'SESSION_START',
    },
  };
}

function device(p: Profile, opts: Partial<Delivery> = {}) {
  const out: SimItem[] = [];
  const d = new Device(p, Rng.derive('device-test', 'device'), { ...delivery, ...opts }, out);
  const batches = () => out.flatMap((i) => (i.kind === 'batch' ? [i.batch] : []));
  return { d, batches };
}

const client = (e: SimEvent) => e.record.client as { offline_synced: boolean; clock_skew_ms: number };

describe('Device', () => {
  it('online: sends a request at batchSize events, stamped as ingest stamps them, leaving the events untouched', () => {
    const p = profile();
    const { d, batches } = device(p);
    const events = [0, 1, 2].map((i) => event(p, i, T0 + i * 1_000));
    for (const e of events) d.add(e, false);
    const [b] = batches() as [ClientBatch];
    expect(batches()).toHaveLength(1);
    expect(b.offline).toBe(false);
    expect(b.duplicate).toBe(false);
    expect(b.receivedAt).toBeGreaterThan(b.sentAt);
    expect(b.events.map((e) => e.record.event_id)).toEqual(['e0', 'e1', 'e2']);
    for (const [i, e] of b.events.entries()) {
      expect(e.record.received_at).toBe(b.receivedAt);
      expect(e.record.occurred_at).toBe(T0 + i * 1_000);
      expect(client(e)).toMatchObject({ offline_synced: false, clock_skew_ms: 0 });
    }
    expect(events.every((e) => e.record.received_at === 0)).toBe(true);
  });

  it('online: flushes the buffer when its oldest event is onlineFlushMs old, and at session end', () => {
    const p = profile();
    const { d, batches } = device(p);
    d.add(event(p, 0, T0), false);
    d.add(event(p, 1, T0 + 40_000), false); // the flush timer of e0 fired before e1
    expect(batches().map((b) => b.events.map((e) => e.record.event_id))).toEqual([['e0']]);
    d.endSession(T0 + 41_000, false);
    expect(batches().map((b) => b.events.map((e) => e.record.event_id))).toEqual([['e0'], ['e1']]);
  });

  it('offline with a wrong clock: queues the session, syncs it late, and the stamped times are true times', () => {
    const skew = 20 * MIN;
    const p = profile({ clockSkewMs: skew });
    const { d, batches } = device(p);
    for (let i = 0; i < 4; i++) d.add(event(p, i, T0 + i * MIN), true);
    d.endSession(T0 + 4 * MIN, true);
    d.syncDue(T0 + 5 * MIN); // connectivity not back yet (at least 2 minutes after the session)
    expect(batches()).toEqual([]);
    d.syncDue(T0 + 80 * 60 * MIN);
    const sent = batches();
    expect(sent.map((b) => b.events.length)).toEqual([3, 1]);
    for (const b of sent) {
      expect(b.offline).toBe(true);
      expect(b.clockSkewMs).toBe(skew);
      for (const e of b.events) {
        const i = Number(e.record.event_id.slice(1));
        expect(e.record.occurred_at).toBe(T0 + i * MIN);
        expect(e.record.received_at).toBe(b.receivedAt);
        expect(client(e)).toEqual(
          expect.objectContaining({
            clock_skew_ms: -skew,
            offline_synced: isOfflineSynced(b.receivedAt, T0 + i * MIN),
          }),
        );
      }
    }
    expect(client(sent[0]!.events[0]!).offline_synced).toBe(true);
  });

  it('re-sends a batch as is after a lost response: same events, a later receipt, stamped again', () => {
    const p = profile();
    const { d, batches } = device(p, { duplicateRate: 1 });
    for (let i = 0; i < 3; i++) d.add(event(p, i, T0 + i * 1_000), false);
    const [first, retry] = batches() as [ClientBatch, ClientBatch];
    expect(batches()).toHaveLength(2);
    expect(retry.batchId).toBe(`${first.batchId}-retry`);
    expect(retry.duplicate).toBe(true);
    expect(retry.receivedAt).toBeGreaterThan(first.receivedAt);
    expect(retry.events.map((e) => e.record.event_id)).toEqual(first.events.map((e) => e.record.event_id));
    expect(retry.events.every((e) => e.record.received_at === retry.receivedAt)).toBe(true);
    expect(first.events.every((e) => e.record.received_at === first.receivedAt)).toBe(true);
  });
});
