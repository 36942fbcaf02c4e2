/**
 * Public surface of services/analytics: cohort analytics v2 (services/analytics/README.md) and the one k-anonymity
 * threshold.
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { kAnonymity } from './cohort.ts';
export { cohortEnv } from './cohort.ts';
export { METRICS, type MetricName } from './cohort-report.ts';
export {
  getRelease,
  memberStanding,
  type Release,
  type ReleasedMetric,
  type ReleasePart,
} from './releases.ts';
export {
  isReleasable,
  lastCompleteWindow,
  parsePeriod,
  windowKindForDays,
  type CalendarWindow,
  type WindowKind,
} from './windows.ts';
