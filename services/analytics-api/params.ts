import { z } from 'zod';
import { USER_ID } from '../shared/events.ts';
import { MASTERY_FIELDS, type MasteryCursor } from './data/state.ts';

/**
 * Every path and query parameter the API accepts, as zod schemas. Patterns are strict allow-lists, so a value
 * that passes can only contain characters that are inert in SQL, URLs and log lines; values still reach SQL only
 * as PostgreSQL $n parameters or through services/shared/sql.ts (ClickHouse).
 */

/** Pseudonymous user id, the same rule as ingest (services/ingest/validate.ts). */
export const userId = z.string().regex(USER_ID, 'must be 1-64 letters, digits, _ or -');

/** Topic ids are dotted slugs (postgres/001_topics.sql CHECK constraint), at most 200 characters. */
export const topicId = z
  .string()
  .max(200)
  .regex(
    /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$/,
    'must be a topic id like cardio.path.heart-failure',
  );

export const cohortId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    // The OpenAPI document states the range (openapi.ts), not only the digits: every integer it allows is accepted.
    .meta({ 'x-integer-range': { minimum: min, maximum: max } });

export const days = (max: number, dflt: number) =>
  intIn(1, max).default(dflt).describe(`days to look back, 1-${max} (default ${dflt})`);
export const limit = (max: number, dflt: number) =>
  intIn(1, max).default(dflt).describe(`maximum items, 1-${max} (default ${dflt})`);

/** `?user=` (admins; students may only name themselves). */
export const userQuery = {
  user: userId
    .optional()
    .describe('the student to read (admins); students may only name themselves; default: the caller'),
};

export const dashboardQuery = z.strictObject({ ...userQuery });
/** Page size of the mastery list: default and maximum of `limit`. */
export const MASTERY_LIST_DEFAULT = 500;
export const MASTERY_LIST_MAX = 1000;

export const masteryListQuery = z.strictObject({
  ...userQuery,
  level: z
    .enum(['0', '1', '2'])
    .transform(Number)
    .optional()
    .describe('only topics of this taxonomy level (0 system, 1 system x discipline, 2 topic)'),
  parent: topicId.optional().describe('only the direct sub-topics of this topic'),
  limit: limit(MASTERY_LIST_MAX, MASTERY_LIST_DEFAULT).describe(
    `maximum entries per page, 1-${MASTERY_LIST_MAX} (default ${MASTERY_LIST_DEFAULT}: more than the ` +
      "taxonomy's topics today, so a call without paging parameters still gets every row); follow `nextCursor` " +
      'for the rest',
  ),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{4,300}$/, 'must be a nextCursor returned by this endpoint')
    .refine((v) => decodeMasteryCursor(v) !== null, 'must be a nextCursor returned by this endpoint')
    .optional()
    .describe(
      'resume after the last entry of a previous page (its `nextCursor`; opaque). Pages follow one stable order ' +
        '(level, then topic id bytewise), so following the cursors visits every row exactly once',
    ),
  fields: z
    .string()
    .regex(/^[A-Za-z]+(,[A-Za-z]+)*$/, 'must be a comma-separated list of field names')
    // The document's pattern names the fields themselves (the regex above only checks the shape).
    .meta({ pattern: `^(${MASTERY_FIELDS.join('|')})(,(${MASTERY_FIELDS.join('|')}))*$` })
    .transform((v, ctx) => {
      const asked = new Set(v.split(','));
      const unknown = [...asked].filter((f) => !(MASTERY_FIELDS as readonly string[]).includes(f));
      if (unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `unknown field; one of ${MASTERY_FIELDS.join(', ')}` });
        return z.NEVER;
      }
      // Canonical (response) order, topicId always: the same selection is the same cache entry.
      return MASTERY_FIELDS.filter((f) => f === 'topicId' || asked.has(f)).join(',');
    })
    .optional()
    .describe(
      `only these fields of each entry (comma-separated; topicId is always sent): ${MASTERY_FIELDS.join(', ')}`,
    ),
});

/** A mastery list cursor: base64url of `<level>:<topic id>`, the last entry of the previous page. */
export function encodeMasteryCursor(c: MasteryCursor): string {
  return Buffer.from(`${c.level}:${c.topicId}`).toString('base64url');
}

/** The position a cursor names, or null for anything this API did not issue. */
export function decodeMasteryCursor(cursor: string): MasteryCursor | null {
  const m = /^([0-2]):(.+)$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!m || !topicId.safeParse(m[2]).success) return null;
  const c = { level: Number(m[1]), topicId: m[2]! };
  // One encoding per position: a cursor must be exactly what encodeMasteryCursor gives.
  return encodeMasteryCursor(c) === cursor ? c : null;
}
export const masteryTopicParams = z.strictObject({ topic: topicId });
export const masteryTopicQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
export const reviewsQuery = z.strictObject({ ...userQuery, days: days(90, 14), limit: limit(500, 50) });
export const patternsQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
export const insightsQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
export const sessionsQuery = z.strictObject({ ...userQuery, limit: limit(200, 20) });
export const percentilesQuery = z.strictObject({
  ...userQuery,
  cohort: cohortId
    .optional()
    .describe('a cohort the student belongs to (default: their first cohort, else every student)'),
  days: days(365, 30),
});
export const cohortParams = z.strictObject({ cohort: cohortId });
export const cohortTopicsQuery = z.strictObject({ days: days(365, 30), limit: limit(500, 50) });
export const emptyQuery = z.strictObject({ ...userQuery });
export const knowledgeGapsQuery = z.strictObject({ ...userQuery, limit: limit(500, 20) });
export const cohortGapsQuery = z.strictObject({ limit: limit(500, 20) });
export const examReadinessQuery = z.strictObject({
  ...userQuery,
  examDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
    .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), 'must be a valid date')
    .meta({ format: 'date' })
    .optional()
    .describe('the exam date (UTC day, default today): the projection decays recall to that day'),
});
