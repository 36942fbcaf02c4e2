import { z } from 'zod';
import { EVENT_OUTCOMES } from '../shared/result.ts';

/**
 * Ingest's 2xx bodies as zod schemas: the single source of the response contract. The pipeline's types are inferred
 * from them (pipeline.ts) and the OpenAPI document's response schemas are generated from them (openapi.ts), which the
 * contract test checks every answer of the running service against (test/integration/ingest/openapi-contract.test.ts).
 * Objects are exact (additionalProperties false): ingest writes these fields and no other.
 */

export const EVENT_RESULT = z.object({
  index: z.int(),
  event_id: z.string().nullable(),
  status: z.enum(EVENT_OUTCOMES),
  errors: z.array(z.object({ path: z.string(), reason: z.string(), code: z.string() })).optional(),
});

export const INGEST_RESPONSE = z.object({
  accepted: z.int(),
  duplicates: z.int(),
  rejected: z.int(),
  results: z.array(EVENT_RESULT),
});

export const TOKEN_RESPONSE = z.object({
  token: z.string(),
  user_id: z.string(),
  expires_at: z.int().describe('epoch ms'),
  jti: z
    .string()
    .describe('the token id, to revoke this one token (studystream token revoke --ingest --jti)'),
});
