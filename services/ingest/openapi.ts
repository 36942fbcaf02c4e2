import { familyType } from '../shared/codec.ts';
import { EVENT_FAMILIES, USER_ID_PATTERN, type EventFamily } from '../shared/events.ts';
import type { IngestConfig } from './config.ts';
import { FREE_TEXT_POLICY } from './validate.ts';

/** The ingest HTTP contract as an OpenAPI 3.1 document (hand-written; the event fields are the Avro schemas'). */
/**
 * The fields a client must send for `family`: the Avro record's fields without a default, except those the server
 * owns or derives (received_at, client) and occurred_at (required for every family).
 */
export function requiredFieldsOf(family: EventFamily): string[] {
  const fields = (
    familyType(family) as unknown as { fields: Array<{ name: string; defaultValue(): unknown }> }
  ).fields;
  return fields
    .filter(
      (f) => f.defaultValue() === undefined && !['received_at', 'client', 'occurred_at'].includes(f.name),
    )
    .map((f) => f.name);
}

const FREE_TEXT_DOC =
  'An id, never personal data or prose: letters, digits and . _ : / - only, starting with a letter or digit; an ' +
  'e-mail address is rejected (code personal_data).';

export function openApiDocument(
  cfg: Pick<IngestConfig, 'INGEST_MAX_BATCH_EVENTS' | 'INGEST_MAX_BODY_BYTES'>,
) {
  const error = { $ref: '#/components/schemas/Error' };
  const errorResponse = (description: string) => ({
    description,
    content: { 'application/json': { schema: error } },
  });
  const result = { $ref: '#/components/schemas/IngestResponse' };
  const ok = (description: string) => ({ description, content: { 'application/json': { schema: result } } });
  const common = {
    '400': errorResponse('Broken JSON (invalid_json) or a malformed batch envelope (invalid_envelope)'),
    '401': errorResponse('Missing or unknown X-API-Key (unauthenticated)'),
    '413': errorResponse(
      `Body over ${cfg.INGEST_MAX_BODY_BYTES} bytes or more than ${cfg.INGEST_MAX_BATCH_EVENTS} events (payload_too_large)`,
    ),
    '415': errorResponse('Content-Type is not application/json (unsupported_media_type)'),
    '429': errorResponse('Per-key rate limit in events/s exceeded (rate_limited); see Retry-After'),
    '503': errorResponse(
      'Kafka did not acknowledge (unavailable); nothing was accepted, retry with the same event_ids',
    ),
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
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
            },
          },
        },
        Event: {
          type: 'object',
          required: ['family', 'event_id', 'user_id', 'occurred_at'],
          description:
            'The fields of the family\'s Avro record in snake_case, plus "family". Fields with an Avro default may be ' +
            'omitted; unknown fields are rejected. client may carry platform and app_version only.',
          properties: {
            family: { enum: [...EVENT_FAMILIES] },
            event_id: { type: 'string', format: 'uuid', description: 'Client-chosen idempotency key' },
            user_id: { type: 'string', pattern: USER_ID_PATTERN },
            ...Object.fromEntries(
              FREE_TEXT_POLICY.fields.map((f) => [
                f,
                {
                  type: ['string', 'null'],
                  minLength: 1,
                  maxLength: FREE_TEXT_POLICY.maxLength[f] ?? FREE_TEXT_POLICY.maxLength.default,
                  pattern: FREE_TEXT_POLICY.pattern,
                  description: FREE_TEXT_DOC,
                },
              ]),
            ),
            topic_ids: {
              type: 'array',
              maxItems: 64,
              items: {
                type: 'string',
                minLength: 1,
                maxLength: FREE_TEXT_POLICY.maxLength.default,
                pattern: FREE_TEXT_POLICY.pattern,
              },
              description: FREE_TEXT_DOC,
            },
            occurred_at: {
              oneOf: [
                { type: 'integer', description: 'epoch ms' },
                { type: 'string', format: 'date-time' },
              ],
            },
            time_zone: {
              type: ['string', 'null'],
              maxLength: 64,
              description:
                "The student's IANA time zone (e.g. Europe/Berlin); local time-of-day figures use it. The SDK sends " +
                'the runtime zone (Intl) by itself; null or absent: unknown.',
            },
            client: {
              type: ['object', 'null'],
              properties: {
                platform: { enum: ['WEB', 'IOS', 'ANDROID', 'DESKTOP', 'SERVER', 'UNKNOWN'] },
                app_version: { type: ['string', 'null'], maxLength: 64 },
              },
            },
          },
          additionalProperties: true,
          // Per family, the fields it requires (as decodeEvent enforces them: a missing one is missing_field).
          oneOf: EVENT_FAMILIES.map((family) => ({
            properties: { family: { const: family } },
            required: ['family', ...requiredFieldsOf(family)],
          })),
        },
        Batch: {
          type: 'object',
          required: ['events'],
          additionalProperties: false,
          properties: {
            sent_at: { type: 'integer', description: 'Client clock (epoch ms) when the batch was sent' },
            events: {
              type: 'array',
              maxItems: cfg.INGEST_MAX_BATCH_EVENTS,
              items: { $ref: '#/components/schemas/Event' },
            },
          },
        },
        EventResult: {
          type: 'object',
          required: ['index', 'event_id', 'status'],
          properties: {
            index: { type: 'integer' },
            event_id: { type: ['string', 'null'] },
            status: { enum: ['accepted', 'duplicate', 'rejected'] },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['path', 'reason'],
                properties: {
                  path: { type: 'string' },
                  reason: { type: 'string' },
                  code: { type: 'string' },
                },
              },
            },
          },
        },
        IngestResponse: {
          type: 'object',
          required: ['accepted', 'duplicates', 'rejected', 'results'],
          properties: {
            accepted: { type: 'integer' },
            duplicates: { type: 'integer' },
            rejected: { type: 'integer' },
            results: { type: 'array', items: { $ref: '#/components/schemas/EventResult' } },
          },
        },
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
