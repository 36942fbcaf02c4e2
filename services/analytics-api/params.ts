import { z } from 'zod';
import { USER_ID } from '../shared/events.ts';
import type { MasteryCursor } from './data/mastery-list.ts';
import { MASTERY_FIELDS } from './views/mastery-entry.ts';

/**
 * Every path and query parameter the API accepts, as zod schemas. Patterns are strict allow-lists, so a value
 * that passes can only contain characters that are inert in SQL, URLs and log lines; values still reach SQL only
 * as PostgreSQL $n parameters or through services/shared/sql.ts (ClickHouse).
 */

/** Pseudonymous user id, the same rule as ingest (services/ingest/validate.ts). */
export const userId = z.string().regex(USER_ID, 'must be 1-64 letters, digits, _ or -');

/** Topic ids are dotted slugs (postgres/001_topics.sql CHECK constraint), at most 200 characters. */
const TOPIC_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$/;
export const topicId = z
  .string()
  .max(200)
  .regex(TOPIC_PATTERN, 'must be a topic id like cardio.path.heart-failure');

/** `<level>:<topic id>`: the topic pattern above after a level digit (a cursor is a position, not a secret). */
const MASTERY_CURSOR = new RegExp(`^[0-2]:${TOPIC_PATTERN.source.slice(1)}`);

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
    .max(202)
    .regex(MASTERY_CURSOR, 'must be a nextCursor returned by this endpoint (<level>:<topic id>)')
    .optional()
    .describe(
      'resume after the last entry of a previous page (its `nextCursor`: `<level>:<topic id>` of that entry). ' +
        'Pages follow one stable order (level, then topic id bytewise), so following the cursors visits every row ' +
        'exactly once; any position of that order is a valid cursor',
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

/** A mastery list cursor: `<level>:<topic id>` of the last entry of the previous page (every such position is valid). */
export function encodeMasteryCursor(c: MasteryCursor): string {
  return `${c.level}:${c.topicId}`;
}

/** The position a cursor names, or null for anything that is not `<level 0-2>:<topic id>`. */
export function decodeMasteryCursor(cursor: string): MasteryCursor | null {
  const m = MASTERY_CURSOR.exec(cursor);
  return m ? { level: Number(cursor[0]), topicId: cursor.slice(2) } : null;
}
export const masteryTopicParams = z.strictObject({ topic: topicId });
export const masteryTopicQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
export const reviewsQuery = z.strictObject({ ...userQuery, days: days(90, 14), limit: limit(500, 50) });
export const patternsQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
export const insightsQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
export const sessionsQuery = z.strictObject({ ...userQuery, limit: limit(200, 20) });
/**
 * Cohort v2 windows (services/analytics/windows.ts): a fixed calendar period, never a day count. `days` is kept for
 * old clients and maps to a window (1-7 the last complete week, 8-31 month, 32-365 quarter); it may not be combined
 * with `window` (400 invalid_parameter).
 */
const cohortWindowQuery = {
  window: z
    .enum(['week', 'month', 'quarter'])
    .optional()
    .describe(
      'fixed calendar window: the last complete ISO week, calendar month or quarter (UTC, complete plus a grace ' +
        'for late events); default month',
    ),
  period: z
    .string()
    .regex(/^\d{4}-(W\d{2}|\d{2}|Q[1-4])$/, 'must be a period like 2026-W09, 2026-02 or 2026-Q1')
    .optional()
    .describe(
      'an earlier complete period of the window kind (2026-W09, 2026-02, 2026-Q1); default the last complete one',
    ),
  days: intIn(1, 365)
    .optional()
    .describe(
      'deprecated: mapped to a fixed window (1-7 last complete week, 8-31 month, 32-365 quarter); with `window`, ' +
        'it must map to the same one (else 400 window_conflict)',
    ),
};

export const percentilesQuery = z.strictObject({
  ...userQuery,
  cohort: cohortId
    .optional()
    .describe('a cohort the student belongs to (default: their first cohort, else every student)'),
  ...cohortWindowQuery,
});
export const studentCohortTopicsQuery = z.strictObject({
  ...userQuery,
  cohort: cohortId
    .optional()
    .describe('a cohort the student belongs to (default: their first cohort, else every student)'),
  ...cohortWindowQuery,
  limit: limit(500, 50),
});
export const cohortParams = z.strictObject({ cohort: cohortId });
export const cohortTopicsQuery = z.strictObject({ ...cohortWindowQuery, limit: limit(500, 50) });
export const cohortDistributionsQuery = z.strictObject({ ...cohortWindowQuery });
export const emptyQuery = z.strictObject({ ...userQuery });
export const knowledgeGapsQuery = z.strictObject({ ...userQuery, limit: limit(500, 20) });
export const cohortGapsQuery = z.strictObject({ limit: limit(500, 20) });
export const examReadinessQuery = z.strictObject({
  ...userQuery,
  examDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
    // A calendar day (Date.parse alone takes 2023-02-30 as March 2nd).
    .refine((v) => isCalendarDay(v), 'must be a valid date')
    // Today or later is checked against the request time (routes/readiness.ts): stated as x-not-before.
    .meta({ format: 'date', 'x-not-before': 'today' })
    .optional()
    .describe(
      'the exam date (UTC day, default today; today or later, else 400): the projection decays recall to that day',
    ),
});

/** True for YYYY-MM-DD naming a real day of the calendar. */
function isCalendarDay(v: string): boolean {
  const ms = Date.parse(`${v}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === v;
}
