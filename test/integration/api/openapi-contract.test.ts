import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken, type Role } from '../../../services/analytics-api/auth.ts';
import { createClickHouse } from '../../../services/shared/clickhouse.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import {
  expectDeclared,
  fetchRetryingClosed,
  invalidOf,
  schemaValidator,
  validOf,
  type Doc,
  type Schema,
} from '../../support/openapi-arbitrary.ts';
import { freePort, startService, stopServices, type StartedService } from '../../support/process.ts';
import { ALICE, BIG, BOB, loadApiFixture, type Fixture } from './fixture.ts';

/**
 * Issue 18, an exact API contract: random requests generated from the OpenAPI document the running analytics API
 * serves (/openapi.json), valid and invalid, sent to the real process (services/analytics-api/main.ts on an
 * isolated namespace with the API fixture loaded). Every answer must be a status the document declares for the
 * operation, with a body matching the declared schema; a request the document allows is never answered 400; no
 * answer is a 5xx; a method the document does not declare on a path is answered 405 with Allow.
 * The seed is logged; rerun one with CONTRACT_SEED=<seed> (CONTRACT_API_RUNS sets the number of requests).
 */

const SECRET = 'openapi-contract-secret-openapi-contract';
const RUNS = Number(process.env.CONTRACT_API_RUNS ?? 250);
const SEED = Number(process.env.CONTRACT_SEED ?? Math.floor(Math.random() * 2 ** 31));

type Param = { name: string; in: 'path' | 'query'; required?: boolean; schema: Schema };
type Operation = {
  parameters: Param[];
  'x-query-rules'?: string[];
  responses: Record<string, { content?: { 'application/json'?: { schema: Schema } } }>;
};
type ApiDoc = Doc & { paths: Record<string, { get: Operation }> };

let iso: IsolatedEnv;
let services: StartedService[] = [];
let url: string;
let doc: ApiDoc;
let f: Fixture;

beforeAll(async () => {
  iso = isolatedEnv('contract-api');
  await provision(iso, { postgres: true, clickhouse: true });
  const pg = createPgPool(iso.cfg);
  const ch = createClickHouse(iso.cfg);
  const redis = createRedis(iso.cfg);
  try {
    await new Promise((resolve) => redis.once('ready', resolve));
    f = await loadApiFixture(pg, ch, redis);
  } finally {
    redis.disconnect();
    await ch.close();
    await pg.end();
  }
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = { ...iso.env, API_PORT: String(port), JWT_SECRET: SECRET, LOG_LEVEL: 'warn' };
  services = [await startService('analytics-api', 'services/analytics-api/main.ts', env, url)];
  doc = (await (await fetch(`${url}/openapi.json`)).json()) as ApiDoc;
}, 120_000);

afterAll(async () => {
  await stopServices(services);
  if (iso) await teardown(iso);
});

const tokenOf = (sub: string, role: Role, cohorts?: string[]) =>
  signToken(
    { sub, role, cohorts },
    { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
  );

/** Who asks: the students of the fixture, an educator of a cohort, an admin, nobody, a forged token. */
const callers = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ label: 'alice', token: () => tokenOf(ALICE, 'student') }) },
  { weight: 1, arbitrary: fc.constant({ label: 'bob', token: () => tokenOf(BOB, 'student') }) },
  {
    weight: 2,
    arbitrary: fc.constant({ label: 'educator(big)', token: () => tokenOf('edu-1', 'educator', ['big']) }),
  },
  { weight: 4, arbitrary: fc.constant({ label: 'admin', token: () => tokenOf('adm-1', 'admin') }) },
  { weight: 1, arbitrary: fc.constant({ label: 'anonymous', token: async () => null }) },
  {
    weight: 1,
    arbitrary: fc.constant({ label: 'forged', token: async () => `${await tokenOf(ALICE, 'admin')}x` }),
  },
);

type Request = {
  method: string;
  path: string;
  template: string;
  query: Array<[string, string]>;
  /** What the document says of the request: every parameter valid, the required ones present, no unknown one. */
  allowed: boolean;
  caller: { label: string; token: () => Promise<string | null> };
};

/** A request for one operation: valid parameters (the fixture's ids among them), sometimes one broken or unknown. */
function requestOf(template: string, op: Operation, ajv: ReturnType<typeof schemaValidator>) {
  const hints: Record<string, fc.Arbitrary<string>> = {
    topic: fc.constantFrom(...f.leaves, f.parent),
    cohort: fc.constantFrom('big', 'small'),
    user: fc.constantFrom(ALICE, ALICE, ALICE, BOB, ...BIG.slice(2, 4)),
  };
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const typed = (s: Schema, v: string): unknown =>
    s.type === 'integer' && /^-?\d+$/.test(v) ? Number(v) : v;
  const scalar = (v: unknown) => v !== null && typeof v !== 'object' && typeof v !== 'symbol';
  const valueOf = (p: Param) =>
    hints[p.name]
      ? fc.oneof(hints[p.name]!, validOf(doc, p.schema).map(text))
      : validOf(doc, p.schema).map(text);
  const params = op.parameters;
  const values = fc.record(Object.fromEntries(params.map((p) => [p.name, valueOf(p)])), {
    requiredKeys: params.filter((p) => p.in === 'path' || p.required).map((p) => p.name),
  });
  const broken = fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...params).chain((p) =>
        invalidOf(doc, p.schema)
          .filter(scalar)
          .map((v) => ({ name: p.name, value: text(v) })),
      ),
    },
    { weight: 1, arbitrary: fc.constant({ name: 'unknown_param', value: '1' }) },
  );
  return fc
    .record({
      values,
      broken,
      caller: callers,
      method: fc.oneof(
        { weight: 9, arbitrary: fc.constant('GET') },
        { weight: 1, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH') },
      ),
    })
    .map(({ values, broken, caller, method }): Request => {
      const all: Record<string, string> = { ...(values as Record<string, string>) };
      if (broken) all[broken.name] = broken.value;
      const declared = new Map(params.map((p) => [p.name, p]));
      const allowed = Object.entries(all).every(([name, v]) => {
        const p = declared.get(name);
        return p !== undefined && ajv.valid(p.schema, typed(p.schema, v));
      });
      let path = template;
      const query: Array<[string, string]> = [];
      for (const [name, v] of Object.entries(all)) {
        if (declared.get(name)?.in === 'path') path = path.replace(`{${name}}`, encodeURIComponent(v));
        else query.push([name, v]);
      }
      return { method, path, template, query, allowed, caller };
    });
}

describe('the running analytics API answers as its OpenAPI document says', () => {
  it('random valid and invalid requests: declared status, body matching its schema, no 400 for a valid one', async () => {
    console.log(`openapi contract (analytics API) seed ${SEED}: rerun with CONTRACT_SEED=${SEED}`);
    const ajv = schemaValidator(doc);
    const templates = Object.keys(doc.paths);
    expect(templates.length).toBeGreaterThanOrEqual(12);
    const requests = fc.constantFrom(...templates).chain((t) => requestOf(t, doc.paths[t]!.get, ajv));
    const seen = new Map<number, number>();
    let validRequests = 0;
    await fc.assert(
      fc.asyncProperty(requests, async (req) => {
        const qs = new URLSearchParams(req.query).toString();
        const token = await req.caller.token();
        const res = await fetchRetryingClosed(`${url}${req.path}${qs ? `?${qs}` : ''}`, {
          method: req.method,
          headers: token ? { Authorization: `Bearer ${token}` } : {},
        });
        const text = await res.text();
        const where = `${req.method} ${req.path}?${qs} as ${req.caller.label} -> ${res.status} ${text.slice(0, 300)}`;
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, where).toBeLessThan(500);
        if (req.method !== 'GET') {
          expect(res.status, where).toBe(405);
          expect(res.headers.get('Allow'), where).toMatch(/\bGET\b/);
          return;
        }
        expectDeclared(doc, ajv, doc.paths[req.template]!.get.responses, { status: res.status, text }, where);
        if (req.allowed && req.caller.label !== 'anonymous' && req.caller.label !== 'forged') {
          validRequests++;
          // A 400 of well-formed parameters only for a rule the operation lists (several parameters together, or
          // relative to the request time: RouteSpec.queryRules).
          const code = res.status === 400 ? (JSON.parse(text) as { error: { code: string } }).error.code : '';
          const rules = doc.paths[req.template]!.get['x-query-rules'] ?? [];
          if (!rules.includes(code))
            expect(
              res.status,
              `a request the document allows was refused as invalid (rules ${rules.join()}): ${where}`,
            ).not.toBe(400);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log('statuses seen', Object.fromEntries(seen), 'valid authenticated requests', validRequests);
    // The run reached the interesting answers, not only refusals.
    expect(seen.get(200) ?? 0).toBeGreaterThan(RUNS / 10);
    expect(seen.get(400) ?? 0).toBeGreaterThan(0);
    expect(seen.get(403) ?? 0).toBeGreaterThan(0);
  }, 300_000);
});
