import type { Logger } from '../../shared/logger.ts';
import { backoffDelay, type BackoffOptions } from '../../shared/async.ts';
import type { Assignment, OffsetStore } from './definition.ts';
import type { TopicPartitionOffset } from './types.ts';

/**
 * Rebalance handling of the consumer runtime: the assignment generation, group membership and the current
 * assignment. Every rebalance starts a new generation; what was buffered under the old one is dropped (never
 * committed), and a batch or a commit of an older generation is recognised as stale by `isCurrent`. kafkajs
 * restarts every partition from its committed offset after the rejoin; a processor with an external offset
 * store is sought to its stored positions instead (`externalPositions`).
 */

/** What revoking an assignment did: the new generation and how many buffered records it dropped. */
export type Revocation = { generation: number; droppedRecords: number; why: RevokeReason };

/** `rebalancing`: the group started a rebalance (the member is out); `joined`: a new assignment arrived. */
export type RevokeReason = 'rebalancing' | 'joined';

/** The topic-partition lists of a kafkajs member assignment, in its order. */
export function assignmentOf(memberAssignment: Record<string, number[]>): Assignment {
  return Object.entries(memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
}

export class AssignmentState {
  private readonly dropBuffered: (generation: number) => number;
  private current = 0;
  private member = false;
  private owned: Assignment = [];

  /** `dropBuffered` empties the buffer into a new generation and returns how many records it held. */
  constructor(dropBuffered: (generation: number) => number) {
    this.dropBuffered = dropBuffered;
  }

  get generation(): number {
    return this.current;
  }

  /** True from the group join until the next rebalance or crash. */
  get joined(): boolean {
    return this.member;
  }

  /** The partitions of the last join. */
  get assignment(): Assignment {
    return this.owned;
  }

  isCurrent(generation: number): boolean {
    return generation === this.current;
  }

  /** Starts a new generation, dropping what was buffered under the old one. */
  revoke(why: RevokeReason): Revocation {
    this.current += 1;
    const droppedRecords = this.dropBuffered(this.current);
    if (why === 'rebalancing') this.member = false;
    return { generation: this.current, droppedRecords, why };
  }

  /** A new assignment arrived (after `revoke('joined')`, which dropped the old generation's buffer). */
  join(memberAssignment: Record<string, number[]>): void {
    this.member = true;
    this.owned = assignmentOf(memberAssignment);
  }

  /** The consumer crashed: out of the group until it rejoins. */
  crashed(): void {
    this.member = false;
  }
}

/** Where to seek after an assignment: the external store's positions, or nothing for Kafka-stored offsets. */
export async function externalPositions(
  store: OffsetStore | undefined,
  memberAssignment: Record<string, number[]>,
): Promise<TopicPartitionOffset[]> {
  if (!store || store.mode !== 'external') return [];
  return store.load(assignmentOf(memberAssignment));
}

export type SeekExternalDeps = {
  store: OffsetStore | undefined;
  /** Seeks one partition of the consumer (kafkajs's consumer.seek). */
  seek: (position: TopicPartitionOffset) => void;
  /** Whether the assignment generation the load is for is still the current one. */
  isCurrent: () => boolean;
  stopping: () => boolean;
  backoff: BackoffOptions;
  /** Waits before the next attempt; resolves early at shutdown. */
  wait: (ms: number) => Promise<void>;
  log: Logger;
};

/**
 * After an assignment, seeks every partition to the external store's position, retrying a failing load (the store
 * down, e.g. a PostgreSQL restart while the group rebalances) with backoff until it succeeds, the assignment is
 * revoked or the processor stops. Never gives up on the consumer: records fetched meanwhile start from the Kafka
 * commit, which is never ahead of the stored position, and `handleBatch` skips what is below it. Resolves with
 * 'seeked', 'revoked' or 'stopping'.
 */
export async function seekExternal(
  deps: SeekExternalDeps,
  memberAssignment: Record<string, number[]>,
): Promise<'seeked' | 'revoked' | 'stopping'> {
  for (let attempt = 0; ; attempt++) {
    if (deps.stopping()) return 'stopping';
    if (!deps.isCurrent()) return 'revoked';
    try {
      const positions = await externalPositions(deps.store, memberAssignment);
      if (deps.stopping()) return 'stopping';
      if (!deps.isCurrent()) return 'revoked';
      for (const p of positions) deps.seek(p);
      if (attempt > 0) deps.log.info({ attempts: attempt + 1 }, 'external offsets loaded; partitions sought');
      return 'seeked';
    } catch (err) {
      const delayMs = backoffDelay(deps.backoff, attempt);
      deps.log.warn({ err, delayMs }, 'loading external offsets failed; retrying');
      await deps.wait(delayMs);
    }
  }
}
