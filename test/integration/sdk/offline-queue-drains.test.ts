import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { loadIngestConfig } from '../../../services/ingest/config.ts';
import { buildIngest, closeIngest, type IngestService } from '../../../services/ingest/service.ts';
import {
  createEventBuilders,
  FileStorage,
  StudystreamClient,
  type Rejection,
  type WireEvent,
} from '../../../services/sdk/node.ts';
import { EventCodec } from '../../../services/shared/codec.ts';
import { createKafka, EVENT_FAMILIES, topicNames } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort } from '../../support/process.ts';
import { readEventTopics } from '../../support/topics.ts';
import { until } from '../../support/wait.ts';

/**
 * The SDK's offline queue against the real ingest service, Kafka, registry, Redis and PostgreSQL.
 *
 * A phone goes offline: the app keeps tracking events, which pile up in the SDK's file-backed queue while every
 * send fails (ingest is not listening). The app is then killed and restarted (a new client on the same queue
 * file). Ingest comes up; the queue drains by itself, and the topics hold every event exactly once. Re-sending
 * events that are already stored (what a client does after a lost answer) changes nothing on the topics.
 */

const iso = isolatedEnv('sdkqueue');
const log = createLogger('test', 'warn');
const N = 240;

let dir: string;
let apiKey: string;
let ingest: IngestService | undefined;

/** Records on each event topic = sum of the partitions' high watermarks (idempotent, non-transactional). */
async function topicRecordCount(): Promise<number> {
  const admin = createKafka(iso.cfg, log, 'sdk-test').admin();
  await admin.connect();
  try {
    let total = 0;
    for (const family of EVENT_FAMILIES) {
      for (const p of await admin.fetchTopicOffsets(topicNames(iso.cfg)[family])) total += Number(p.high);
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

function offlineEvents(): WireEvent[] {
  const b = createEventBuilders({ platform: 'ANDROID', appVersion: '5.0.1' });
  const events: WireEvent[] = [];
  for (let i = 0; events.length < N; i++) {
    const userId = `stu_${i % 7}`;
    const sessionId = `sess-${i % 7}`;
    const materialId = `mat-${i % 11}`;
    events.push(
      b.questionAnswered({
        userId,
        sessionId,
        questionId: `q-${i}`,
        topicIds: ['cardio.hf'],
        isCorrect: i % 3 !== 0,
        attemptNumber: 1 + (i % 2),
        timeToAnswerMs: 20_000 + i,
        confidence: 1 + (i % 5),
        mode: 'TUTOR',
      }),
      b.readProgress({ userId, sessionId, materialId, materialType: 'TEXTBOOK', progress: (i % 10) / 10 }),
      i % 2 === 0
        ? b.materialOpen({ userId, sessionId, materialId, materialType: 'VIDEO' })
        : b.aiCoachQuery({ userId, sessionId, interaction: 'EXPLAIN', promptTokens: 40 }),
    );
  }
  return events.slice(0, N);
}

describe('SDK offline queue against the real ingest service', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdk-offline-'));
    await provision(iso, { postgres: true, kafka: true });
    await new EventCodec(createRegistry(iso.cfg), iso.cfg).registerAll();
    const pool = createPgPool(iso.cfg);
    try {
      apiKey = (await createApiKey(pool, 'sdk-offline-test')).key;
    } finally {
      await pool.end();
    }
  });

  afterAll(async () => {
    if (ingest) await closeIngest(ingest);
    await teardown(iso);
    await rm(dir, { recursive: true, force: true });
  });

  it('queues events while ingest is down, then drains with no loss and no duplicate event_id on the topics', async () => {
    const port = await freePort();
    const queueFile = join(dir, 'queue.jsonl');
    const rejections: Rejection[] = [];
    const errorKinds = new Set<string>();
    const options = {
      endpoint: `http://127.0.0.1:${port}`,
      apiKey,
      batchSize: 50,
      flushIntervalMs: 200,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      onRejected: (r: Rejection[]) => rejections.push(...r),
      onError: (e: { kind: string }) => errorKinds.add(e.kind),
    };

    // 1. Offline: nothing listens on the port. Every event is tracked and persisted; nothing can be sent.
    const offline = new StudystreamClient({ ...options, storage: new FileStorage(queueFile), maxRetries: 1 });
    const sent = offlineEvents();
    await Promise.all(sent.map((e) => offline.track(e)));
    expect(await offline.flush()).toMatchObject({ ok: false, remaining: N });
    expect(errorKinds).toEqual(new Set(['network']));
    // The app is stopped while still offline; close() cannot deliver, so everything stays in the file.
    expect(await offline.close({ timeoutMs: 0 })).toMatchObject({ ok: false, remaining: N });
    expect(await new FileStorage(queueFile).load()).toHaveLength(N);

    // 2. The app starts again (new client, same queue file) while ingest is still down.
    const client = new StudystreamClient({ ...options, storage: new FileStorage(queueFile) });
    await client.ready;
    expect(client.stats().queued).toBe(N);

    // 3. Ingest comes up on that port; the client's background sender drains the queue on its own.
    ingest = await buildIngest(loadIngestConfig({ ...iso.env, INGEST_PORT: String(port) }), log);
    await ingest.start(port, '127.0.0.1');
    await until('the queue to drain', () => client.stats().queued === 0);
    const stats = client.stats();
    expect(rejections).toEqual([]);
    expect(stats.accepted + stats.duplicates).toBe(N);
    expect(await client.close()).toMatchObject({ ok: true, remaining: 0 });
    expect(await new FileStorage(queueFile).load()).toEqual([]);

    // 4. The topics hold each event exactly once, decodable through the registry, with the fields sent.
    const records = await readEventTopics(iso.cfg, `${iso.id}-reader`, N);
    const ids = records.map((r) => r.record.event_id as string);
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    expect(new Set(ids)).toEqual(new Set(sent.map((e) => e.event_id)));
    const byId = new Map(records.map((r) => [r.record.event_id as string, r]));
    for (const event of sent) {
      const { family, record } = byId.get(event.event_id)!;
      expect(family).toBe(event.family);
      const { family: _f, client: ctx, ...fields } = event;
      expect(record).toMatchObject(fields); // occurred_at too: same clock, so no skew correction applies
      expect(record.client).toMatchObject({ platform: ctx!.platform, app_version: ctx!.app_version });
      expect(typeof record.received_at).toBe('number');
    }

    // 5. Re-sending already stored events (a lost answer, a restored backup) is answered 'duplicate'
    //    and adds nothing to the topics.
    const resender = new StudystreamClient({ ...options, flushIntervalMs: 0 });
    for (const e of sent.slice(0, 60)) void resender.track(e);
    expect(await resender.close()).toMatchObject({ ok: true, accepted: 0, duplicates: 60 });
    expect(await topicRecordCount()).toBe(N);
  });
});
