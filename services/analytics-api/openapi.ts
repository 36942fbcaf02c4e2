import { z } from 'zod';
import { ERROR_BODY, openApiJsonSchema } from '../shared/http.ts';
import type { RouteSpec } from './route.ts';

/**
 * The API contract as an OpenAPI 3.1 document, generated from the same route specs and zod schemas that
 * validate requests (so the document cannot drift from the checks), and from the zod schemas of the 200 bodies
 * (schemas.ts). Served at /openapi.json, rendered at /docs.
 */
export function openApiDocument(routes: readonly RouteSpec[], k: number) {
  const error = { $ref: '#/components/schemas/Error' };
  const errorResponse = (description: string) => ({
    description,
    content: { 'application/json': { schema: error } },
  });
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const path = spec.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [...parametersOf(spec.params, 'path'), ...parametersOf(spec.query, 'query')];
    const responses: Record<string, unknown> =
      spec.scope === 'reserved'
        ? {
            '501': errorResponse(
              'Not implemented yet (not_implemented); the path is reserved for a later release',
            ),
          }
        : {
            '200': {
              description: 'OK. X-Cache tells hit, miss, bypass (Redis unavailable) or error.',
              content: {
                'application/json': {
                  schema: spec.response ? openApiJsonSchema(spec.response) : { type: 'object' },
                },
              },
            },
          };
    Object.assign(responses, {
      '400': errorResponse(
        'A path or query parameter is invalid or unknown (invalid_parameter; details lists each)' +
          Object.entries(spec.queryRules ?? {})
            .map(([code, when]) => `; ${when} (${code})`)
            .join(''),
      ),
      '401': {
        ...errorResponse(
          'Missing, malformed, forged, expired or revoked token (missing_token, invalid_token, token_expired, token_revoked)',
        ),
        headers: {
          'WWW-Authenticate': {
            description: 'Bearer error="invalid_request" (no token) or error="invalid_token"',
            schema: { type: 'string' },
          },
        },
      },
      '403': errorResponse(
        spec.scope === 'cohort'
          ? "The cohort is not one of the educator's (forbidden)"
          : 'A student naming another student (forbidden); an educator asking for individual data (aggregates_only)',
      ),
      ...(spec.notFound ? { '404': errorResponse(spec.notFound) } : {}),
      '500': errorResponse('A store failed (internal_error); the request is audited with this status'),
      ...(spec.scope === 'reserved'
        ? {}
        : {
            '503': {
              ...errorResponse(
                'The analytics store is busy (overloaded; details.reason clickhouse_queue_timeout or ' +
                  'clickhouse_too_many_queries): retry after Retry-After seconds',
              ),
              headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } },
            },
          }),
    });
    paths[path] = {
      get: {
        operationId: spec.operationId,
        summary: spec.summary,
        description: spec.description,
        tags: [spec.tag],
        ...(spec.scope === 'reserved' ? { 'x-not-implemented': true } : {}),
        ...(spec.queryRules ? { 'x-query-rules': Object.keys(spec.queryRules) } : {}),
        parameters,
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'studystream analytics API',
      version: '1.0.0',
      description:
        'Read API for students and educators. Authenticate with `Authorization: Bearer <JWT>` (claims: sub, role ' +
        'student|educator|admin, cohorts for educators, exp). Students read their own data; admins address a student ' +
        "with ?user=; educators read aggregates of their cohorts only. Every read of a student's data is audited. " +
        `Cohort figures need at least k = ${k} students. Responses are cached for 5 minutes per endpoint and student ` +
        "and invalidated when that student's state changes. Days and hours are UTC. Every path answers GET (and " +
        'HEAD) only: another method is 405 method_not_allowed with an Allow header. The document is generated from ' +
        'the validators that run: a request it allows is never refused as invalid.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: openApiJsonSchema(ERROR_BODY),
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, prop]) => {
    const { description, 'x-integer-range': range, ...rest } = prop;
    // An integer parameter (digits in the URL, a range in the validator) is documented as the integer it is.
    if (range) Object.assign(rest, { type: 'integer', ...(range as object) }, { pattern: undefined });
    if (rest.pattern === undefined) delete rest.pattern;
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}
