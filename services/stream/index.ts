/**
 * Public surface of the stream service: what other services, tools, tests and benchmarks may import. Everything
 * else under services/stream is private to it (checked by `npm run arch`).
 */
export { startMasteryProcessor } from './mastery/start.ts';
export { startSessionsProcessor } from './sessions/start.ts';
export { insertStudyReads, StudyReads, type StudyDay, type StudyMaterial } from './mastery/study-reads.ts';
