import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { errorBody } from '../shared/http.ts';

/**
 * Hono's HTTPException with a machine-readable body `{"error":{code,message,details}}` (a 4xx, or a deliberate
 * 5xx/501). Thrown anywhere in the request flow; the app's error handler (shared/http.ts mountErrorHandlers) answers
 * with getResponse(), keeping the headers the flow set before (X-Request-Id).
 */
export class ApiError extends HTTPException {
  readonly code: string;
  readonly details: unknown;
  /** Extra response headers (a 503's Retry-After). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details?: unknown,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(status, { message });
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  override getResponse(): Response {
    const headers: Record<string, string> = { ...this.headers, 'Content-Type': 'application/json' };
    if (this.status === 401) {
      const error = this.code === 'missing_token' ? 'invalid_request' : 'invalid_token';
      headers['WWW-Authenticate'] = `Bearer error="${error}"`;
    }
    return new Response(JSON.stringify(errorBody(this.code, this.message, this.details)), {
      status: this.status,
      headers,
    });
  }
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
