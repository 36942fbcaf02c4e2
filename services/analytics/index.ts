/**
 * Public surface of services/analytics: cohort analytics (k-anonymous standings and topic difficulty).
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { kAnonymity, strugglingShare, studentStanding, topicDifficulty } from './cohort.ts';
export type { Standing } from './cohort.ts';
