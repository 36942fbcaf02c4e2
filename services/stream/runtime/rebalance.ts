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
