import { emptyQuery } from '../params.ts';
import { defineRoute } from '../route.ts';

/** Paths promised for a later issue: authenticated and validated like the rest, then 501 not_implemented. */
export const examReadiness = defineRoute({
  path: '/api/analytics/exam-readiness',
  operationId: 'getExamReadiness',
  tag: 'student',
  summary: 'Exam readiness (not implemented yet)',
  description:
    'Reserved: calibrated pass probability with an interval and projected days to readiness (jobs service). Answers ' +
    '501 `{"error":{"code":"not_implemented"}}` until then.',
  scope: 'reserved',
  query: emptyQuery,
});
