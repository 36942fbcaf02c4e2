/**
 * Public surface of the data tools for other services (the CLI's commands, benchmarks). Checked by `npm run arch`.
 */
export { liveGroups } from './context.ts';
export { backfillStudyReads } from './study-reads.ts';
