import { z } from 'zod';

/**
 * Every path and query parameter the API accepts, as zod schemas. Patterns are strict allow-lists, so a value
 * that passes can only contain characters that are inert in SQL, URLs and log lines; values still reach SQL only
 * as PostgreSQL $n parameters or through services/shared/sql.ts (ClickHouse).
 */

/** Pseudonymous user id, the same rule as ingest (services/ingest/validate.ts). */
export const userId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

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
    .pipe(z.number().int().min(min).max(max));

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
export const masteryListQuery = z.strictObject({
  ...userQuery,
  level: z
    .enum(['0', '1', '2'])
    .transform(Number)
    .optional()
    .describe('only topics of this taxonomy level (0 system, 1 system x discipline, 2 topic)'),
  parent: topicId.optional().describe('only the direct sub-topics of this topic'),
});
export const masteryTopicParams = z.strictObject({ topic: topicId });
export const masteryTopicQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
export const reviewsQuery = z.strictObject({ ...userQuery, days: days(90, 14), limit: limit(500, 50) });
export const patternsQuery = z.strictObject({ ...userQuery, days: days(365, 90) });
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
