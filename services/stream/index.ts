/**
 * Public surface of services/stream: the stream service: start functions of the processors, their definitions and bulk builders (replay, rebuild), stores' readers and writers, and the runtime other tools run processors on.
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { startMasteryProcessor } from './mastery/start.ts';
export { startSessionsProcessor } from './sessions/start.ts';
export { sinkEnv } from './clickhouse-sink/config.ts';
export { applyRetention, deleteUser } from './clickhouse-sink/maintenance.ts';
export { RAW_TABLES } from './clickhouse-sink/rows.ts';
export type { SerialisedRow } from './clickhouse-sink/rows.ts';
export { clickHouseSinkDefinition } from './clickhouse-sink/sink.ts';
export { RawEventStore } from './clickhouse-sink/store.ts';
export { MasteryBulkBuild } from './mastery/bulk.ts';
export { masteryEnv } from './mastery/config.ts';
export { toMasteryInput } from './mastery/decode.ts';
export type { MasteryInput } from './mastery/decode.ts';
export { loadItemCalibration, saveItemCalibration, toTopicEvent } from './mastery/items.ts';
export type { CalibratedItem, ItemCalibration } from './mastery/items.ts';
export { createMasteryProcessor } from './mastery/processor.ts';
export { TopicTree } from './mastery/taxonomy.ts';
export { streamEnv } from './runtime/config.ts';
export type { StreamConfig } from './runtime/config.ts';
export { DLQ_HEADERS } from './runtime/dead-letter.ts';
export { invalidationChannel } from './runtime/invalidation.ts';
export { runtimeOptionsFromEnv } from './runtime/definition.ts';
export type { ProcessorDefinition, RuntimeOptions } from './runtime/definition.ts';
export { runProcessor } from './runtime/processor.ts';
export { drop } from './runtime/step.ts';
export type { StepResult } from './runtime/step.ts';
export type { InboundRecord } from './runtime/types.ts';
export { SessionsBulkBuild } from './sessions/bulk.ts';
export { sessionsEnv } from './sessions/config.ts';
export { createSessionsProcessor, positionField, sessionOptions } from './sessions/processor.ts';
export { deleteLiveSessionsOf, liveKeys, readLive, writtenCounts } from './sessions/store.ts';
export { newestLiveSession, type LiveSessionRead } from './sessions/live-read-model.ts';
export {
  learnerColumns,
  learnerOf,
  learnerOfRow,
  learnerPoolSums,
  recallColumns,
  recallOf,
  recallOfRow,
  recallSchedulerOf,
  RECALL_WIDTH,
  type LearnerNowState,
} from './mastery/read-model.ts';
export { insertStudyReads, StudyReads, type StudyDay, type StudyMaterial } from './mastery/study-reads.ts';
export { insertReviewDays, readReviewDays, ReviewDays, type StoredReview } from './mastery/review-days.ts';
