/**
 * Public surface of services/web: the dashboard build (for `studystream start`).
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { dashboardHints, ensureWebBuilt } from './build.ts';
