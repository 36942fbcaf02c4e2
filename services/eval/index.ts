/**
 * Public surface of services/eval: the learner-model and insight evaluations and their metrics.
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export {
  DEFAULT_PROTOCOL,
  calibrateItemBank,
  formatReadmeSection,
  formatReport,
  formatScheduleFigures,
  runProtocol,
  scheduleFigures,
} from './evaluate.ts';
export type { EvalReport } from './evaluate.ts';
export { evaluateInsights, formatInsightReport } from './insights.ts';
export { auc, brier, calibration, ece, logLoss } from './metrics.ts';
