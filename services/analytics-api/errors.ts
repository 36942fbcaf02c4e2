import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { errorBody } from '../shared/http.ts';

/** An error that becomes a machine-readable 4xx (or a deliberate 5xx/501) `{"error":{code,message,details}}`. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: unknown;
  constructor(status: ContentfulStatusCode, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function sendError(c: Context, err: ApiError): Response {
  if (err.status === 401)
    c.header(
      'WWW-Authenticate',
      `Bearer error="${err.code === 'missing_token' ? 'invalid_request' : 'invalid_token'}"`,
    );
  return c.json(errorBody(err.code, err.message, err.details), err.status);
}

/** Parses input with a zod schema; failures become 400 invalid_parameter listing each bad parameter (never its value). */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'query' | 'path',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    in: where,
    param:
      issue.path.length > 0
        ? issue.path.map(String).join('.')
        : ((issue as { keys?: string[] }).keys?.join(',') ?? ''),
    issue: issue.code,
    message: issue.message,
  }));
  throw new ApiError(400, 'invalid_parameter', `invalid ${where} parameter`, details);
}
