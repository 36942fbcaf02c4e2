/* eslint-disable @typescript-eslint/no-explicit-any -- JSON Schema documents are walked as plain JSON */
import fc from 'fast-check';
import { expect } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * fast-check arbitraries from the JSON Schemas of an OpenAPI 3.1 document (the subset the studystream documents
 * use: type, enum, const, pattern, min/maxLength, minimum/maximum, items, min/maxItems, properties, required,
 * additionalProperties: false, anyOf/oneOf, $ref, format date and date-time), plus two extensions for rules relative
 * to the receiving clock: `x-now-window: {pastMs, futureMs}` (an epoch-ms or ISO time near now) and
 * `x-not-before: 'today'` (a date from today on).
 *
 * `validOf` generates values the schema accepts; `invalidOf` values that break it in one place (a missing required
 * field, an unknown field, a wrong type, a value out of range or off its pattern). Which is which is decided by ajv
 * (`schemaValidator`), not by the generator: a mutation that happens to stay valid is counted as valid.
 */

export type Schema = Record<string, any>;
export type Doc = { components?: { schemas?: Record<string, Schema> } } & Record<string, any>;

/** Follows `$ref`s (local, `#/...`) to the schema they name. */
export function deref(doc: Doc, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; s.$ref !== undefined && i < 20; i++) {
    s = (s.$ref as string)
      .slice(2)
      .split('/')
      .reduce((node: any, key) => node[key], doc) as Schema;
  }
  return s;
}

const NOW_MARGIN_MS = 60_000;
const DAY_MS = 86_400_000;

function bigIntegers(min: number, max: number): fc.Arbitrary<number> {
  return fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
}

function stringOf(s: Schema): fc.Arbitrary<string> {
  const min = (s.minLength as number | undefined) ?? 0;
  const max = (s.maxLength as number | undefined) ?? 40;
  if (s['x-not-before'] === 'today') {
    return fc
      .integer({ min: 0, max: 3 * 365 })
      .map((d) => new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + d * DAY_MS).toISOString().slice(0, 10));
  }
  if (s.format === 'date')
    return fc
      .date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
  if (s.format === 'date-time')
    return fc
      .date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString());
  if (s.pattern !== undefined) {
    return fc
      .stringMatching(new RegExp(s.pattern as string), { size: 'small' })
      .filter((v) => v.length >= min && v.length <= max);
  }
  return fc.string({ minLength: min, maxLength: Math.min(max, min + 40) });
}

function ofType(doc: Doc, s: Schema, type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'string':
      return stringOf(s);
    case 'integer': {
      const min = (s.minimum as number | undefined) ?? -1_000_000;
      const max = (s.maximum as number | undefined) ?? 1_000_000;
      return max - min > 2 ** 31 ? bigIntegers(min, max) : fc.integer({ min, max });
    }
    case 'number':
      return fc.double({
        min: (s.minimum as number | undefined) ?? -1e9,
        max: (s.maximum as number | undefined) ?? 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'array':
      return fc.array(validOf(doc, (s.items as Schema | undefined) ?? {}), {
        minLength: (s.minItems as number | undefined) ?? 0,
        maxLength: Math.min((s.maxItems as number | undefined) ?? 4, Math.max(4, s.minItems ?? 0)),
      });
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, Schema>;
      const required = (s.required ?? []) as string[];
      return fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, validOf(doc, v)])), {
        requiredKeys: required.filter((k) => k in props),
      });
    }
    default:
      throw new Error(`openapi-arbitrary: no generator for type ${type}`);
  }
}

/** Values `schema` accepts. */
export function validOf(doc: Doc, schema: Schema): fc.Arbitrary<unknown> {
  const s = deref(doc, schema);
  const window = s['x-now-window'] as { pastMs: number; futureMs: number } | undefined;
  if (window) {
    // Well inside the window (the request takes a moment to arrive), as epoch ms or, where allowed, ISO text.
    const past = Math.max(0, Math.min(window.pastMs / 2, window.pastMs - NOW_MARGIN_MS, DAY_MS));
    const ms = fc.integer({ min: 0, max: past }).map((ago) => Date.now() - ago);
    const branches = (s.anyOf ?? s.oneOf ?? [s]) as Schema[];
    const text = branches.some((b) => deref(doc, b).type === 'string');
    return text
      ? fc.oneof(
          ms,
          ms.map((v) => new Date(v).toISOString()),
        )
      : ms;
  }
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf))
    return fc.oneof(...((s.anyOf ?? s.oneOf) as Schema[]).map((b) => validOf(doc, b)));
  const type = s.type ?? (s.properties ? 'object' : undefined);
  if (type === undefined) return fc.jsonValue({ maxDepth: 2 });
  if (Array.isArray(type)) return fc.oneof(...(type as string[]).map((t) => ofType(doc, s, t)));
  return ofType(doc, s, type as string);
}

/** A value of another JSON type than any `type` allows. */
function wrongType(s: Schema): fc.Arbitrary<unknown> {
  const types = new Set<string>(Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);
  const all: Array<[string, fc.Arbitrary<unknown>]> = [
    ['string', fc.constantFrom('x', '', '12', 'true')],
    ['integer', fc.constantFrom(-1, 0, 7, 2 ** 40)],
    ['number', fc.constantFrom(1.5, -0.25)],
    ['boolean', fc.boolean()],
    ['null', fc.constant(null)],
    ['array', fc.constant([1])],
    ['object', fc.constant({ x: 1 })],
  ];
  const others = all.filter(([t]) => !types.has(t) && !(t === 'integer' && types.has('number')));
  return fc.oneof(...others.map(([, a]) => a));
}

/** Values that break `schema` in one place (nested objects included); ajv confirms it. */
export function invalidOf(doc: Doc, schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(doc, schema);
  const options: Array<fc.Arbitrary<unknown>> = [];
  if (s.type !== undefined || s.enum || 'const' in s) options.push(wrongType(s));
  if (Array.isArray(s.enum) || 'const' in s) options.push(fc.constantFrom('not-a-member', 'UNKNOWN_X', 99));
  if (typeof s.minimum === 'number') options.push(fc.constant(s.minimum - 1));
  if (typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER)
    options.push(fc.constant(s.maximum + 1));
  if (typeof s.maxLength === 'number') options.push(fc.constant('a'.repeat(s.maxLength + 1)));
  if (s.pattern !== undefined) {
    const re = new RegExp(s.pattern as string);
    options.push(
      fc.constantFrom('', ' ', 'a b', 'jane@example.org', '../x', 'Ä', '-x').filter((v) => !re.test(v)),
    );
  }
  const oneOf = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (oneOf && depth < 3) {
    for (const b of oneOf) {
      const branch = deref(doc, b);
      if (branch.type === 'object' || branch.properties) options.push(invalidOf(doc, branch, depth + 1));
    }
  }
  const props = s.properties as Record<string, Schema> | undefined;
  if (props && depth < 3) {
    const base = validOf(doc, s) as fc.Arbitrary<Record<string, unknown>>;
    const required = ((s.required ?? []) as string[]).filter((k) => k in props);
    if (required.length > 0)
      options.push(
        fc.tuple(base, fc.constantFrom(...required)).map(([v, k]) => {
          const { [k]: _dropped, ...rest } = v;
          return rest;
        }),
      );
    if (s.additionalProperties === false) options.push(base.map((v) => ({ ...v, unexpected_field: 1 })));
    const names = Object.keys(props).filter((k) => Object.keys(deref(doc, props[k]!)).length > 1);
    if (names.length > 0)
      options.push(
        fc
          .constantFrom(...names)
          .chain((k) => fc.tuple(base, fc.constant(k), invalidOf(doc, props[k]!, depth + 1)))
          .map(([v, k, bad]) => ({ ...v, [k]: bad })),
      );
  }
  if (s.type === 'array' && s.items && depth < 3) {
    if (typeof s.maxItems === 'number' && s.maxItems <= 100)
      options.push(
        fc.array(validOf(doc, s.items as Schema), { minLength: s.maxItems + 1, maxLength: s.maxItems + 1 }),
      );
    options.push(
      fc
        .tuple(
          fc.array(validOf(doc, s.items as Schema), { maxLength: 2 }),
          invalidOf(doc, s.items as Schema, depth + 1),
        )
        .map(([ok, bad]) => [...ok, bad]),
    );
  }
  if (options.length === 0) return fc.constant(Symbol('no invalid value'));
  return fc.oneof(...options);
}

/**
 * An ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) validator over the document's schemas: `valid(schema,
 * value)` resolves `$ref`s against the document. Formats: date, date-time, uuid; OpenAPI keywords (discriminator,
 * x-*) are ignored.
 */
export function schemaValidator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addSchema({ $id: 'doc', components: doc.components ?? {} });
  const compiled = new WeakMap<Schema, ReturnType<typeof ajv.compile>>();
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = k === '$ref' ? `doc${v as string}` : rewrite(v);
      return out;
    }
    return node;
  };
  const fn = (schema: Schema) => {
    let f = compiled.get(schema);
    if (!f) {
      f = ajv.compile(rewrite(schema) as Schema);
      compiled.set(schema, f);
    }
    return f;
  };
  return {
    valid: (schema: Schema, value: unknown): boolean => fn(schema)(value) as boolean,
    errors: (schema: Schema, value: unknown): string => {
      const f = fn(schema);
      f(value);
      return ajv.errorsText(f.errors);
    },
  };
}

/** What an operation declares it answers: status → its JSON body schema, if any. */
export type Responses = Record<string, { content?: { 'application/json'?: { schema: Schema } } }>;

/**
 * Asserts that an answer is one the operation declares: its status is among `responses` and its JSON body (when the
 * status declares one) matches the schema. Returns the parsed body (undefined for a status without a JSON body).
 */
export function expectDeclared(
  doc: Doc,
  ajv: ReturnType<typeof schemaValidator>,
  responses: Responses,
  answer: { status: number; text: string },
  where: string,
): unknown {
  const declared = responses[String(answer.status)];
  expect(declared, `undeclared status: ${where}`).toBeDefined();
  const schema = declared!.content?.['application/json']?.schema;
  if (!schema) return undefined;
  const body = JSON.parse(answer.text) as unknown;
  const target = deref(doc, schema);
  expect(ajv.valid(target, body), `${where}: ${ajv.errors(target, body)}`).toBe(true);
  return body;
}

/**
 * fetch, sent again once when the server closed a kept-alive connection as the request went out (undici's
 * UND_ERR_SOCKET "other side closed": the server's keep-alive timeout raced the reuse). The requests of the contract
 * tests are safe to repeat (GETs; ingest dedupes on event_id and counts a duplicate as accepted).
 */
export async function fetchRetryingClosed(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    if (code !== 'UND_ERR_SOCKET') throw err;
    return fetch(url, init);
  }
}
