/**
 * Public surface of services/readiness: exam-readiness training and the model artifact loader.
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { READINESS_MODEL_FILE, loadReadinessArtifact } from './artifact.ts';
export { DEFAULT_PLAN, formatTrainReport, trainReadiness } from './train.ts';
export type { TrainPlan } from './train.ts';
