import { EventCodec } from '../../../services/shared/codec.ts';
import { createKafka, type EventFamily } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { registerAll } from '../../../services/cli/commands/schemas.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { loadIngestConfig } from '../../../services/ingest/config.ts';
import { buildIngest, closeIngest, type IngestService } from '../../../services/ingest/service.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';

export type Harness = {
  iso: IsolatedEnv;
  service: IngestService;
  apiKey: string;
  codec: EventCodec;
  close: () => Promise<void>;
};

/** An in-process ingest service on an isolated namespace (topics, PG schema, Redis prefix, registry subjects). */
export async function startHarness(label: string, env: Record<string, string> = {}): Promise<Harness> {
  const iso = isolatedEnv(label);
  Object.assign(iso.env, env);
  await provision(iso, { postgres: true, kafka: true });
  const log = createLogger('test', 'warn');
  await registerAll(iso.cfg, log);
  const pool = createPgPool(iso.cfg);
  const { key } = await createApiKey(pool, `test ${label}`).finally(() => undefined);
  await pool.end();
  const cfg = loadIngestConfig(iso.env);
  const service = await buildIngest(cfg, log);
  const codec = new EventCodec(createRegistry(iso.cfg), iso.cfg);
  return {
    iso,
    service,
    apiKey: key,
    codec,
    close: async () => {
      await closeIngest(service);
      await teardown(iso);
    },
  };
}

/** Reads every message of the given families' topics from the beginning and decodes it through the registry. */
export async function consumeAll(
  h: Harness,
  families: readonly EventFamily[],
  expected: number,
  timeoutMs = 30_000,
): Promise<Array<{ family: EventFamily; key: string; record: Record<string, unknown> }>> {
  const kafka = createKafka(h.iso.cfg, createLogger('test', 'warn'), 'test-consumer');
  const consumer = kafka.consumer({ groupId: `${h.iso.id}-reader-${Math.random().toString(36).slice(2)}` });
  const out: Array<{ family: EventFamily; key: string; record: Record<string, unknown> }> = [];
  await consumer.connect();
  try {
    for (const f of families) await consumer.subscribe({ topic: h.codec.topicOf(f), fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, timeoutMs);
      consumer
        .run({
          eachMessage: async ({ topic, message }) => {
            const family = h.codec.familyOfTopic(topic)!;
            out.push({
              family,
              key: message.key!.toString(),
              record: await h.codec.decode(family, message.value!),
            });
            if (out.length >= expected) {
              // wait a little for unexpected extra records
              setTimeout(() => {
                clearTimeout(timer);
                resolve();
              }, 1500);
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export function postJson(h: Harness, path: string, body: unknown, headers: Record<string, string> = {}) {
  return h.service.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': h.apiKey, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
