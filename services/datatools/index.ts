/**
 * Public surface of services/datatools: the operator tools behind the CLI (replay, rebuild, import, dead letters, offsets, reconcile, deletion).
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { runBounded, seedKafkaGroup } from './bounded.ts';
export { openContext, parseInstant, table } from './context.ts';
export type { ToolContext } from './context.ts';
export { deleteUserEverywhere } from './delete-user.ts';
export {
  decodeValue,
  fetchDeadLetters,
  idOf,
  listDeadLetters,
  parseId,
  redriveMessage,
  redriveOne,
  redriveRefusal,
  redrivenIds,
} from './dlq.ts';
export type { DeadLetter } from './dlq.ts';
export { importFile } from './import.ts';
export type { ImportFormat } from './import.ts';
export {
  applyKafkaReset,
  applyPostgresReset,
  assertGroupInactive,
  groupsOnTopics,
  kafkaPositions,
  lagRows,
  planReset,
  postgresPositions,
  redisSessionPositions,
  targetOffsets,
  watermarks,
} from './offsets.ts';
export type { LagRow, ResetTarget } from './offsets.ts';
export { rebuildStore } from './rebuild.ts';
export { reconcile } from './reconcile.ts';
export type { Range, Reconciliation } from './reconcile.ts';
export {
  PROCESSORS,
  clampToLive,
  computeRanges,
  livePositions,
  masteryDefinition,
  parseBound,
  processorTopics,
  seedPostgresPositions,
  seedRedisPositions,
  sessionsReplayDefinition,
  sinkDefinition,
  timestampTag,
} from './replay.ts';
export type { ProcessorName } from './replay.ts';
export { liveGroups } from './context.ts';
export { backfillStudyReads } from './study-reads.ts';
export { backfillReviewDays } from './review-days.ts';
