/**
 * Public surface of services/analytics-api: the read API: tokens and roles (for the CLI), its configuration, demo hints, and the gap and readiness computations other services reuse.
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { ROLES, parseTtl, signToken } from './auth.ts';
export type { Role } from './auth.ts';
export { deleteCachedAnswersOf } from './cache.ts';
export { apiEnv, loadApiConfig } from './config.ts';
export { assignEducator, listAssignments, revokeTokens } from './server-checks.ts';
export { demoHints } from './demo.ts';
export { cohortId, userId } from './params.ts';
export type { DataDeps } from './route.ts';
export { studentGaps } from './routes/gaps.ts';
export { studentReadiness } from './routes/readiness.ts';
