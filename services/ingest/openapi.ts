import type avro from 'avsc';
import { familyType } from '../shared/codec.ts';
import { EVENT_FAMILIES, type EventFamily } from '../shared/events.ts';
import type { IngestConfig } from './config.ts';
import { ERROR_BODY, openApiJsonSchema } from '../shared/http.ts';
import { EVENT_RESULT, INGEST_RESPONSE, TOKEN_RESPONSE } from './responses.ts';
import { EVENT_RULES, FREE_TEXT_POLICY } from './validate.ts';

/**
 * The ingest HTTP contract as an OpenAPI 3.1 document, generated from what validates an event: each family's Avro
 * record (field types, enums, nested records, which fields have defaults: decodeEvent checks a record against it)
 * and validate.ts's rules (EVENT_RULES, FREE_TEXT_POLICY: patterns, lengths, ranges). A request the document
 * allows is accepted; the only rules a static document cannot state exactly are relative to the receiving clock
 * (occurred_at's age window, sent_at's skew correction): they carry `x-now-window` and are answered 422 / rejected
 * per event, never 400.
 */

type Schema = Record<string, unknown>;
type AvroField = { name: string; type: avro.Type; defaultValue(): unknown };

const INT32 = { minimum: -(2 ** 31), maximum: 2 ** 31 - 1 };
/** avsc's long range (isSafeLong: one short of Number.MAX_SAFE_INTEGER on each side), what decodeEvent accepts. */
export const AVRO_LONG = { minimum: -9007199254740990, maximum: 9007199254740990 };
const SAFE = AVRO_LONG;

/** JSON Schema of the JSON values an Avro type accepts (avsc isValid), before the semantic rules. */
function avroSchema(type: avro.Type, names: Map<string, Schema>): Schema {
  const t = type as unknown as {
    typeName: string;
    symbols?: string[];
    itemsType?: avro.Type;
    types?: avro.Type[];
    fields?: AvroField[];
    name?: string;
  };
  switch (t.typeName) {
    case 'null':
      return { type: 'null' };
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string' };
    case 'int':
      return { type: 'integer', ...INT32 };
    case 'long':
      return { type: 'integer', ...SAFE };
    case 'float':
    case 'double':
      return { type: 'number' };
    case 'enum':
      return { enum: [...t.symbols!] };
    case 'array':
      return { type: 'array', items: avroSchema(t.itemsType!, names) };
    case 'union:unwrapped':
    case 'union:wrapped':
      return { anyOf: t.types!.map((u) => avroSchema(u, names)) };
    case 'record': {
      const fields = t.fields!;
      return {
        type: 'object',
        additionalProperties: false,
        required: fields.filter((f) => f.defaultValue() === undefined).map((f) => f.name),
        properties: Object.fromEntries(fields.map((f) => [f.name, avroSchema(f.type, names)])),
      };
    }
    default:
      throw new Error(`openapi: no JSON Schema for Avro type ${t.typeName}`);
  }
}

/** Applies `change` to the non-null branch of an optional field's schema (or to the schema itself). */
function refine(schema: Schema | undefined, change: Schema): void {
  if (!schema) return;
  const branches = (schema.anyOf as Schema[] | undefined)?.filter((b) => b.type !== 'null');
  for (const target of branches ?? [schema]) Object.assign(target, change);
}

const FREE_TEXT_DOC =
  'An id, never personal data or prose: letters, digits and . _ : / - only, starting with a letter or digit; an ' +
  'e-mail address is rejected (code personal_data).';

/** The JSON Schema of one family's event: its Avro record with the semantic rules of validate.ts applied. */
export function eventSchema(family: EventFamily, window: { maxAgeMs: number; maxFutureMs: number }): Schema {
  const record = familyType(family) as unknown as { name: string; doc?: string };
  const schema = avroSchema(familyType(family), new Map());
  const props = schema.properties as Record<string, Schema>;
  const required = new Set(schema.required as string[]);
  // Server-owned: a client value is ignored (any JSON value passes); received_at is stamped by ingest.
  props.received_at = { description: 'Ignored: ingest stamps the time it received the event' };
  required.delete('received_at');
  props.family = { const: family, description: 'The event family (selects the Avro record)' };
  required.add('family');
  props.event_id = {
    type: 'string',
    pattern: EVENT_RULES.uuid.source,
    description: 'A UUID chosen by the client: the idempotency key',
  };
  props.user_id = {
    type: 'string',
    pattern: EVENT_RULES.userId.source,
    description: 'Pseudonymous student id',
  };
  props.occurred_at = {
    anyOf: [
      { type: 'integer', ...SAFE, description: 'epoch ms' },
      { type: 'string', pattern: EVENT_RULES.iso8601.source, description: 'ISO-8601 with a zone' },
    ],
    'x-now-window': { pastMs: window.maxAgeMs, futureMs: window.maxFutureMs },
    description:
      `When it happened on the client; after the batch clock-skew correction it must lie within ` +
      `${Math.round(window.maxAgeMs / 86_400_000)} days before and ${window.maxFutureMs / 1000} s after the ` +
      'time ingest receives it (else the event is rejected: too_old, in_future).',
  };
  refine(props.schema_version, { minimum: EVENT_RULES.schemaVersionMin });
  refine(props.time_zone, {
    enum: Intl.supportedValuesOf('timeZone').concat('UTC'),
    description: "The student's IANA time zone (e.g. Europe/Berlin); null or absent: unknown",
  });
  for (const f of FREE_TEXT_POLICY.fields) {
    refine(props[f], {
      minLength: 1,
      maxLength: FREE_TEXT_POLICY.maxLength[f] ?? FREE_TEXT_POLICY.maxLength.default,
      pattern: FREE_TEXT_POLICY.pattern,
      description: FREE_TEXT_DOC,
    });
  }
  if (props.topic_ids) {
    Object.assign(props.topic_ids, {
      maxItems: EVENT_RULES.maxTopics,
      ...(family === 'question-attempts' ? { minItems: 1 } : {}),
      description: FREE_TEXT_DOC,
    });
    Object.assign((props.topic_ids as { items: Schema }).items, {
      minLength: 1,
      maxLength: FREE_TEXT_POLICY.maxLength.default,
      pattern: FREE_TEXT_POLICY.pattern,
    });
  }
  for (const [path, [min, max]] of Object.entries(EVENT_RULES.ranges[family])) {
    const [head, leaf] = path.split('.') as [string, string | undefined];
    const target =
      leaf === undefined
        ? props[head]
        : (
            (props[head]!.anyOf as Schema[]).find((b) => b.type === 'object')!.properties as Record<
              string,
              Schema
            >
          )[leaf];
    refine(target, { minimum: min, ...(max === Infinity ? {} : { maximum: max }) });
  }
  if (family === 'study-events') {
    const api = (props.api_call!.anyOf as Schema[]).find((b) => b.type === 'object')!;
    refine((api.properties as Record<string, Schema>).route, { ...EVENT_RULES.apiRoute });
  }
  // The client context: platform and app_version; the server's own fields are accepted and ignored.
  const client = (props.client!.anyOf as Schema[]).find((b) => b.type === 'object')!;
  const clientProps = client.properties as Record<string, Schema>;
  for (const name of Object.keys(clientProps)) {
    if (name !== 'platform' && name !== 'app_version')
      clientProps[name] = { description: 'Ignored: set by ingest' };
  }
  refine(clientProps.app_version, { maxLength: EVENT_RULES.appVersionMaxLength });
  client.required = [];
  return {
    title: record.name.split('.').pop(),
    ...(record.doc ? { description: record.doc } : {}),
    type: 'object',
    additionalProperties: false,
    required: [...required],
    properties: props,
  };
}

/**
 * The fields a client must send for `family`: the Avro record's fields without a default, except those the server
 * owns or derives (received_at, client) and occurred_at (required for every family).
 */
export function requiredFieldsOf(family: EventFamily): string[] {
  const fields = (familyType(family) as unknown as { fields: AvroField[] }).fields;
  return fields
    .filter(
      (f) => f.defaultValue() === undefined && !['received_at', 'client', 'occurred_at'].includes(f.name),
    )
    .map((f) => f.name);
}

/** Avro record name of each family (the component name of its event schema). */
const componentOf = (family: EventFamily) =>
  (familyType(family) as unknown as { name: string }).name.split('.').pop()!;

export function openApiDocument(
  cfg: Pick<
    IngestConfig,
    | 'INGEST_MAX_BATCH_EVENTS'
    | 'INGEST_MAX_BODY_BYTES'
    | 'INGEST_MAX_EVENT_AGE_DAYS'
    | 'INGEST_MAX_FUTURE_MS'
    | 'INGEST_SKEW_TOLERANCE_MS'
  > &
    Partial<Pick<IngestConfig, 'INGEST_TOKEN_MAX_TTL_SEC'>>,
) {
  const window = {
    maxAgeMs: cfg.INGEST_MAX_EVENT_AGE_DAYS * 86_400_000,
    maxFutureMs: cfg.INGEST_MAX_FUTURE_MS,
  };
  const error = { $ref: '#/components/schemas/Error' };
  const errorResponse = (description: string) => ({
    description,
    content: { 'application/json': { schema: error } },
  });
  const result = { $ref: '#/components/schemas/IngestResponse' };
  const ok = (description: string) => ({ description, content: { 'application/json': { schema: result } } });
  const common = {
    '400': errorResponse('Broken JSON (invalid_json) or a malformed batch envelope (invalid_envelope)'),
    '401': errorResponse(
      'Missing or unknown X-API-Key (unauthenticated); a client key without X-Ingest-Token (ingest_token_required); ' +
        'a tampered, expired or revoked ingest token (invalid_ingest_token, ingest_token_expired, ingest_token_revoked)',
    ),
    '403': errorResponse(
      "An event's user_id is not the ingest token's student (user_id_mismatch; details.indexes); nothing accepted",
    ),
    '413': errorResponse(
      `Body over ${cfg.INGEST_MAX_BODY_BYTES} bytes or more than ${cfg.INGEST_MAX_BATCH_EVENTS} events (payload_too_large)`,
    ),
    '415': errorResponse('Content-Type is not application/json (unsupported_media_type)'),
    '429': errorResponse('Per-key rate limit in events/s exceeded (rate_limited); see Retry-After'),
    '503': errorResponse(
      'Kafka did not acknowledge, or the API-key store or the token revocation list is unreachable (unavailable); ' +
        'nothing was accepted, retry with the same event_ids',
    ),
    '500': errorResponse('An unexpected failure (internal_error); nothing of the request is described in it'),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'studystream ingest',
      version: '1.0.0',
      description:
        "Receives study events from apps. Each event is validated against its family's Avro schema " +
        '(schemas/<family>.avsc) and produced to Kafka; 2xx only after Kafka acknowledged (acks=all). ' +
        'Server-owned fields: received_at and client.{ip_hash,browser,os,offline_synced,clock_skew_ms} are ignored ' +
        'if sent. Clock-skew rule: when a batch carries sent_at and |received_at - sent_at| exceeds the tolerance, ' +
        'every occurred_at of the batch is shifted by (received_at - sent_at). time_zone (optional, every family): the ' +
        "student's IANA time-zone name (e.g. Europe/Berlin); an unknown name is rejected (invalid_value).",
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        ingestToken: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Ingest-Token',
          description:
            'Per-student ingest token (POST /v1/tokens), required with a client key: only its student may be written',
        },
      },
      schemas: {
        Error: openApiJsonSchema(ERROR_BODY),
        ...Object.fromEntries(EVENT_FAMILIES.map((f) => [componentOf(f), eventSchema(f, window)])),
        Event: {
          description:
            "One event: the fields of its family's Avro record in snake_case, plus `family`. Fields with an Avro " +
            'default may be omitted; unknown fields are rejected. client may carry platform and app_version only.',
          oneOf: EVENT_FAMILIES.map((f) => ({ $ref: `#/components/schemas/${componentOf(f)}` })),
          discriminator: {
            propertyName: 'family',
            mapping: Object.fromEntries(
              EVENT_FAMILIES.map((f) => [f, `#/components/schemas/${componentOf(f)}`]),
            ),
          },
        },
        Batch: {
          type: 'object',
          required: ['events'],
          additionalProperties: false,
          properties: {
            sent_at: {
              type: ['integer', 'null'],
              minimum: 1,
              maximum: Number.MAX_SAFE_INTEGER,
              // Within the tolerance nothing is shifted; beyond it the occurred_at are read on the client's clock.
              'x-now-window': {
                pastMs: cfg.INGEST_SKEW_TOLERANCE_MS,
                futureMs: cfg.INGEST_SKEW_TOLERANCE_MS,
              },
              description:
                'Client clock (epoch ms) when the batch was sent. When it differs from the receiving clock by more ' +
                `than the skew tolerance (${cfg.INGEST_SKEW_TOLERANCE_MS} ms), every occurred_at is shifted by the ` +
                'difference, i.e. read on the client clock (and must then lie in its window)',
            },
            events: {
              type: 'array',
              maxItems: cfg.INGEST_MAX_BATCH_EVENTS,
              items: { $ref: '#/components/schemas/Event' },
            },
          },
        },
        // The 2xx bodies, generated from the zod schemas the pipeline's types are inferred from (responses.ts).
        EventResult: openApiJsonSchema(EVENT_RESULT),
        IngestResponse: openApiJsonSchema(INGEST_RESPONSE),
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/events': {
        post: {
          summary: 'Send one event',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Event' } } },
          },
          responses: {
            '202': ok('Accepted (acknowledged by Kafka)'),
            '200': ok('Duplicate: this event_id was accepted before'),
            '422': ok('Rejected; errors name the field paths'),
            ...common,
          },
        },
      },
      '/v1/events/batch': {
        post: {
          summary: 'Send a batch of events (offline sync)',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Batch' } } },
          },
          responses: {
            '200': ok('One result per event, in order; a rejected event never blocks the others'),
            ...common,
          },
        },
      },
      '/v1/tokens': {
        post: {
          summary: 'Mint a per-student ingest token (server keys only), for a browser or mobile app',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['user_id'],
                  properties: {
                    user_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
                    ttl_sec: { type: 'integer', minimum: 1, maximum: cfg.INGEST_TOKEN_MAX_TTL_SEC ?? 900 },
                  },
                },
              },
            },
          },
          responses: {
            '201': {
              description: 'The token (send it as X-Ingest-Token with a client key)',
              content: {
                'application/json': { schema: openApiJsonSchema(TOKEN_RESPONSE) },
              },
            },
            '400': errorResponse('user_id or ttl_sec invalid (invalid_value), or broken JSON'),
            '401': common['401'],
            '403': errorResponse('Only a server key without a token mints tokens (server_key_required)'),
            '415': common['415'],
            '429': common['429'],
            '503': errorResponse(
              'The API key store or the token revocation list is unavailable (unavailable)',
            ),
          },
        },
      },
      '/healthz': {
        get: { summary: 'Process alive', security: [], responses: { '200': { description: 'ok' } } },
      },
      '/readyz': {
        get: {
          summary: 'Kafka, Redis, PostgreSQL and the registry reachable',
          security: [],
          responses: {
            '200': { description: 'ready' },
            '503': { description: 'a dependency is unreachable' },
          },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text' } } },
      },
    },
  };
}
