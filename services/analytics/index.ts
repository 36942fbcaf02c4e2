/** Public surface of the analytics module (cohort v2: services/analytics/README.md). */
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
