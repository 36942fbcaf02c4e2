/**
 * Public surface of services/simulator: the deterministic student simulator and its delivery sinks.
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { simOptions, simulateCohort } from './cohort.ts';
export { curriculum } from './curriculum.ts';
export { FetchIngestClient, IngestSink, KafkaSink } from './delivery.ts';
export type { Sink } from './delivery.ts';
export { parseSeed, simulatorEnv } from './env.ts';
export { runLive } from './live.ts';
export { MODEL, pCorrect } from './model.ts';
export { Progress } from './progress.ts';
export { connectProducer, formatSummary, runSimulation } from './run.ts';
export { studentId } from './profile.ts';
export { CHRONOTYPE_PART } from './student.ts';
export type { SimEvent, SimOptions, StudentTruth } from './types.ts';
