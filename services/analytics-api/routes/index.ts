import type { RouteSpec } from '../route.ts';
import { cohortDistributions, cohortTopics, percentiles, studentCohortTopics } from './cohorts.ts';
import { dashboard } from './dashboard.ts';
import { masteryList, masteryTopic } from './mastery.ts';
import { insights } from './insights.ts';
import { studyPatterns } from './patterns.ts';
import { cohortKnowledgeGaps, knowledgeGaps } from './gaps.ts';
import { examReadiness } from './readiness.ts';
import { reviews } from './reviews.ts';
import { sessions } from './sessions.ts';

/** Every API operation, in the order of the OpenAPI document. */
export const ROUTES: RouteSpec[] = [
  dashboard,
  masteryList,
  masteryTopic,
  reviews,
  studyPatterns,
  insights,
  sessions,
  percentiles,
  studentCohortTopics,
  cohortTopics,
  cohortDistributions,
  knowledgeGaps,
  cohortKnowledgeGaps,
  examReadiness,
];
