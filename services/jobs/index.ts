/**
 * Public surface of services/jobs: the jobs service's definitions, queue and runner options (for the CLI).
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { jobsEnv, loadJobsConfig } from './config.ts';
export { jobDefinitions } from './jobs.ts';
export { runnerOptions } from './options.ts';
export { bullConnection, jobOptions, openQueue, queueStatus } from './runner.ts';
