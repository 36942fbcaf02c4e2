import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAll } from '../../../services/cli/commands/schemas.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import {
  deref,
  expectDeclared,
  fetchRetryingClosed,
  invalidOf,
  schemaValidator,
  validOf,
  type Doc,
  type Schema,
} from '../../support/openapi-arbitrary.ts';
import { freePort, startService, stopServices, type StartedService } from '../../support/process.ts';

/**
 * Issue 18, an exact API contract: random requests generated from the OpenAPI document the running ingest service
 * serves (/openapi.json), valid and invalid, sent to the real process (services/ingest/main.ts, isolated topics,
 * schema and Redis prefix). Every answer must be a status the document declares for the operation, with a body
 * matching the declared schema; no answer is a 5xx; a request the document allows is never 400 and every event in it
 * is accepted (or a duplicate); undeclared methods are answered 405 with Allow.
 * The seed is logged; rerun one with CONTRACT_SEED=<seed> (CONTRACT_INGEST_RUNS sets the number of requests).
 */

const RUNS = Number(process.env.CONTRACT_INGEST_RUNS ?? 60);
const SEED = Number(process.env.CONTRACT_SEED ?? Math.floor(Math.random() * 2 ** 31));

type Operation = {
  requestBody: { content: { 'application/json': { schema: Schema } } };
  responses: Record<string, { content?: { 'application/json'?: { schema: Schema } } }>;
};
type IngestDoc = Doc & { paths: Record<string, { post?: Operation }> };

const iso = isolatedEnv('contract-ingest');
let services: StartedService[] = [];
let url: string;
let key: string;
let doc: IngestDoc;

beforeAll(async () => {
  await provision(iso, { postgres: true, kafka: true });
  await registerAll(iso.cfg, createLogger('test', 'warn'));
  const pool = createPgPool(iso.cfg);
  try {
    ({ key } = await createApiKey(pool, 'openapi contract'));
  } finally {
    await pool.end();
  }
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = { ...iso.env, INGEST_PORT: String(port), INGEST_IP_SALT: 'contract-salt', LOG_LEVEL: 'warn' };
  services = [await startService('ingest', 'services/ingest/main.ts', env, url)];
  doc = (await (await fetch(`${url}/openapi.json`)).json()) as IngestDoc;
}, 120_000);

afterAll(async () => {
  await stopServices(services);
  await teardown(iso);
});

type Sent = {
  path: string;
  method: string;
  body: unknown;
  /** The body as the document says: valid JSON for the operation's schema. */
  allowed: boolean;
  headers: Record<string, string>;
  label: string;
};

describe('the running ingest service answers as its OpenAPI document says', () => {
  it('random valid and invalid requests: declared status, body matching its schema, valid events accepted', async () => {
    console.log(`openapi contract (ingest) seed ${SEED}: rerun with CONTRACT_SEED=${SEED}`);
    const ajv = schemaValidator(doc);
    const posts = Object.entries(doc.paths).filter(([, item]) => item.post);
    expect(posts.map(([p]) => p).sort()).toEqual(['/v1/events', '/v1/events/batch', '/v1/tokens']);
    const headers = fc.oneof(
      {
        weight: 12,
        arbitrary: fc.constant({ label: 'key', h: { 'x-api-key': key, 'content-type': 'application/json' } }),
      },
      { weight: 1, arbitrary: fc.constant({ label: 'no key', h: { 'content-type': 'application/json' } }) },
      {
        weight: 1,
        arbitrary: fc.constant({
          label: 'unknown key',
          h: { 'x-api-key': 'sk_nope', 'content-type': 'application/json' },
        }),
      },
      {
        weight: 1,
        arbitrary: fc.constant({
          label: 'text/plain',
          h: { 'x-api-key': key, 'content-type': 'text/plain' },
        }),
      },
    );
    const requests: fc.Arbitrary<Sent> = fc
      .constantFrom(...posts)
      .chain(([path, item]) => {
        const schema = item.post!.requestBody.content['application/json'].schema;
        return fc.record({
          path: fc.constant(path),
          method: fc.oneof(
            { weight: 12, arbitrary: fc.constant('POST') },
            { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') },
          ),
          body: fc.oneof(
            { weight: 3, arbitrary: validOf(doc, schema) },
            { weight: 2, arbitrary: invalidOf(doc, schema) },
          ),
          headers,
        });
      })
      .map(({ path, method, body, headers: { label, h } }) => {
        const schema = doc.paths[path]!.post!.requestBody.content['application/json'].schema;
        return { path, method, body, headers: h, label, allowed: ajv.valid(deref(doc, schema), body) };
      });
    const seen = new Map<number, number>();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(requests, async (req) => {
        const res = await fetchRetryingClosed(`${url}${req.path}`, {
          method: req.method,
          headers: req.headers,
          ...(req.method === 'GET' ? {} : { body: JSON.stringify(req.body) }),
        });
        const text = await res.text();
        const where = `${req.method} ${req.path} (${req.label}, ${req.allowed ? 'valid' : 'invalid'}) ${JSON.stringify(
          req.body,
        ).slice(0, 600)} -> ${res.status} ${text.slice(0, 600)}`;
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, where).toBeLessThan(500);
        if (req.method !== 'POST') {
          expect(res.status, where).toBe(405);
          expect(res.headers.get('Allow'), where).toMatch(/\bPOST\b/);
          return;
        }
        const body = expectDeclared(
          doc,
          ajv,
          doc.paths[req.path]!.post!.responses,
          { status: res.status, text },
          where,
        ) as {
          results?: Array<{ status: string }>;
        };
        if (req.allowed && req.label === 'key') {
          expect(res.status, `a request the document allows was refused: ${where}`).not.toBe(400);
          expect(req.path === '/v1/tokens' ? [201] : [200, 202], where).toContain(res.status);
          for (const r of body.results ?? []) expect(['accepted', 'duplicate'], where).toContain(r.status);
          accepted++;
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log('statuses seen', Object.fromEntries(seen), 'valid requests accepted', accepted);
    expect(accepted).toBeGreaterThan(RUNS / 4);
    expect((seen.get(400) ?? 0) + (seen.get(422) ?? 0)).toBeGreaterThan(0);
  }, 600_000);
});
