import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAll } from '../../../services/cli/commands/schemas.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { studyEvent } from '../../support/ingest-events.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort, startService, stopServices, type StartedService } from '../../support/process.ts';

/**
 * OpenTelemetry tracing (OTEL_TRACES_EXPORTER=otlp) across processes: a client's traceparent -> ingest's server span
 * -> its producer span, carried in the Kafka record headers -> the ClickHouse sink's batch span, linked to it. The
 * spans are received by a minimal OTLP/HTTP (JSON) collector in this test.
 */

type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  links?: Array<{ traceId: string; spanId: string }>;
};
type Received = OtlpSpan & { service: string };

const iso = isolatedEnv('opstrace');
const received: Received[] = [];
const children: StartedService[] = [];
let collector: Server;
let collectorUrl = '';

function startCollector(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const doc = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ spans: OtlpSpan[] }>;
          }>;
        };
        for (const rs of doc.resourceSpans) {
          const service =
            rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans) for (const s of ss.spans) received.push({ ...s, service });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

beforeAll(async () => {
  await provision(iso);
  await registerAll(iso.cfg, createLogger('test', 'warn'));
  const port = await freePort();
  collector = await startCollector(port);
  collectorUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await stopServices(children);
  await new Promise((r) => collector.close(r));
  await teardown(iso);
});

describe('OpenTelemetry tracing (OTEL_TRACES_EXPORTER=otlp)', () => {
  it('follows an ingest request through the Kafka headers to the processor that stored it', async () => {
    const env = {
      ...iso.env,
      LOG_LEVEL: 'warn',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
    };
    const pool = createPgPool(iso.cfg);
    const { key } = await createApiKey(pool, 'trace');
    await pool.end();
    const ingestPort = await freePort();
    const ingestUrl = `http://127.0.0.1:${ingestPort}`;
    children.push(
      await startService(
        'ingest',
        'services/ingest/main.ts',
        { ...env, INGEST_PORT: String(ingestPort), INGEST_IP_SALT: 't' },
        ingestUrl,
      ),
    );
    const streamPort = await freePort();
    children.push(
      await startService(
        'stream',
        'services/stream/main.ts',
        {
          ...env,
          STREAM_PORT: String(streamPort),
          STREAM_PROCESSORS: 'clickhouse-sink',
          SINK_GROUP_ID: `sink-${iso.id}`,
        },
        `http://127.0.0.1:${streamPort}`,
      ),
    );

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';
    const res = await fetch(`${ingestUrl}/v1/events/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': key,
        traceparent: `00-${traceId}-${clientSpan}-01`,
      },
      body: JSON.stringify({ events: [studyEvent(), studyEvent()] }),
    });
    expect(res.status).toBeLessThan(300);

    let processed: Received | undefined;
    for (let i = 0; i < 120 && !processed; i++) {
      await new Promise((r) => setTimeout(r, 500));
      processed = received.find((s) => s.service === 'stream' && s.links?.some((l) => l.traceId === traceId));
    }
    const server = received.find((s) => s.service === 'ingest' && s.name === 'POST /v1/events/batch');
    expect(server).toMatchObject({ traceId, parentSpanId: clientSpan });
    const producer = received.find((s) => s.service === 'ingest' && s.name === 'publish events');
    expect(producer).toMatchObject({ traceId, parentSpanId: server!.spanId });
    expect(processed?.name).toBe('process clickhouse-sink');
    expect(processed!.links).toContainEqual(expect.objectContaining({ traceId, spanId: producer!.spanId }));
  });
});
