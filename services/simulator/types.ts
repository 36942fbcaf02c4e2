import type { EventFamily } from '../shared/kafka.ts';

export type Platform = 'WEB' | 'IOS' | 'ANDROID' | 'DESKTOP';

/** The full Avro record of an event as it lands in Kafka (occurred_at corrected to true time, received_at set). */
export type EventRecord = Record<string, unknown> & {
  event_id: string;
  user_id: string;
  occurred_at: number;
  received_at: number;
};

export interface SimEvent {
  family: EventFamily;
  record: EventRecord;
}

/**
 * One request a student's device sends: every event in it comes from one device, shares the device clock skew and
 * the send time. `sentAt`/`receivedAt` are true (server-clock) times; the client's clock reads `sentAt + clockSkewMs`.
 */
export interface ClientBatch {
  batchId: string;
  userId: string;
  platform: Platform;
  appVersion: string;
  userAgent: string;
  /** Client clock minus true clock, ms (0 for most devices). */
  clockSkewMs: number;
  /** Sent late from the offline queue. */
  offline: boolean;
  /** A re-send of the previous batch with the same events (client retry after a lost response). */
  duplicate: boolean;
  sentAt: number;
  receivedAt: number;
  events: SimEvent[];
}

/** Ground truth of one question attempt: the model's probability at the moment it was answered. */
export interface AttemptTruth {
  type: 'attempt';
  event_id: string;
  user_id: string;
  topic_id: string;
  question_id: string;
  occurred_at: number;
  /** P(correct) from the model at that attempt: item response × memory × fatigue. */
  p_correct: number;
  /** Retrievability of the topic's memory trace just before the attempt. */
  recall: number;
  /** Stability (days) of the topic's memory trace just before the attempt. */
  stability_days: number;
  theta: number;
  fatigue: number;
  a: number;
  b: number;
  correct: boolean;
}

export interface TopicTruth {
  theta_initial: number;
  theta_final: number;
  /** Retrievability at the end of the simulation. */
  recall_final: number;
  stability_days: number;
  reviews: number;
}

/** Ground truth of one student, emitted after the last day. */
export interface StudentTruth {
  type: 'student';
  user_id: string;
  index: number;
  general_ability: number;
  learning_rate: number;
  diligence: number;
  chronotype: 'lark' | 'intermediate' | 'owl';
  platform: Platform;
  offline_prone: boolean;
  clock_skew_ms: number;
  topics: Record<string, TopicTruth>;
  exam: {
    taken_at: number;
    /** Board-weighted ability Σ w_k θ_k(effective at exam time). */
    weighted_ability: number;
    /** Expected share correct on a board-weighted exam form. */
    expected_share: number;
    /** Observed score: expected share plus test-day noise. */
    score: number;
    pass_share: number;
    pass: boolean;
  };
}

export type SimItem =
  { kind: 'batch'; batch: ClientBatch } | { kind: 'truth'; truth: AttemptTruth | StudentTruth };

export interface SimOptions {
  seed: number | string;
  students: number;
  days: number;
  /** First simulated instant (epoch ms); days run from here. */
  startMs: number;
  /** Share of sent batches that are sent twice (client retries). */
  duplicateRate: number;
  /** Share of students who study on phones that go offline and sync late. */
  offlineRate: number;
  /** Upper bound of the delay between the end of an offline session and its sync. */
  maxOfflineDelayMs: number;
  /** An online device flushes its buffer when its oldest event is this old (or at 100 events, or session end). */
  onlineFlushMs: number;
  /** Events per request. */
  batchSize: number;
  /**
   * Effects on answer accuracy the insights should find (services/domain/insights.ts; measured by
   * `studystream eval-insights`): 'natural' (default) the model as it is (session fatigue only); 'none' no effect
   * of time, fatigue or notes at all (fatigue off); 'planted' fatigue three times as strong, +PLANTED_LOGIT logits in
   * the part of the day of the student's chronotype (lark: morning, intermediate: afternoon, owl: evening) and on
   * topics the student took a note or highlight on at least a day before. Choosing one never changes the random
   * draws, so the events differ only in which answers are correct.
   */
  effects?: 'natural' | 'none' | 'planted';
  /** Called after each simulated day with (days done, days total). */
  onDay?: (done: number, total: number) => void;
}

export const DEFAULT_SIM_OPTIONS = {
  duplicateRate: 0.01,
  offlineRate: 0.15,
  maxOfflineDelayMs: 72 * 3_600_000,
  onlineFlushMs: 30_000,
  batchSize: 100,
} as const;
