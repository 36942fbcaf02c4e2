/**
 * The read model of topic_mastery's JSON columns, published by their writer (store.ts writes sm2_state, fsrs_state
 * and learner_state from the domain's SM-2, FSRS and learner-model states). Readers (the analytics API) select the
 * SQL projections below and turn the values back into domain types with the accessors beside them; they never
 * spell a path inside the JSON nor cast a partial scheduler state.
 *
 * Each projection is a list of plain scalar columns over a topic_mastery alias (no jsonb for the driver to
 * JSON.parse), usable positionally (rowMode 'array': `xxxOf(row, index)`) or named (`xxxOfRow(row)`, the names
 * being this module's). Only the active scheduler's state is read (topic_mastery.scheduler).
 */
import type { FsrsCardState } from '../../domain/fsrs.ts';
import type { LearnerState } from '../../domain/learner-model.ts';
import type { SchedulerRecall } from '../../domain/mastery.ts';

type Projection = ReadonlyArray<readonly [name: string, sql: (m: string) => string]>;

const select = (p: Projection, m: string, named: boolean): string =>
  p.map(([name, sql]) => (named ? `${sql(m)} AS ${name}` : sql(m))).join(', ');

/** The recall inputs of the row's scheduler (domain SchedulerRecall), as RECALL_WIDTH columns. */
const RECALL: Projection = [
  ['recall_sm2', (m) => `${m}.scheduler = 'sm2'`],
  [
    'recall_a',
    (m) => `CASE WHEN ${m}.scheduler = 'sm2' THEN (${m}.sm2_state->>'intervalDays')::float8
       ELSE (${m}.fsrs_state->>'stability')::float8 END`,
  ],
  [
    'recall_last',
    (m) => `CASE WHEN ${m}.scheduler = 'sm2' THEN (${m}.sm2_state->>'lastReviewAt')::float8
       ELSE (${m}.fsrs_state->>'lastReviewAt')::float8 END`,
  ],
  [
    'recall_has',
    (m) =>
      `CASE WHEN ${m}.scheduler = 'sm2' THEN ${m}.sm2_state IS NOT NULL ELSE ${m}.fsrs_state IS NOT NULL END`,
  ],
  ['recall_card', (m) => `${m}.fsrs_state->>'state'`],
];

/** How many columns recallColumns selects. */
export const RECALL_WIDTH = RECALL.length;

/** The SQL of a row's recall inputs over the topic_mastery alias `m` (`named`: with this module's column names). */
export function recallColumns(m: string, named = false): string {
  return select(RECALL, m, named);
}

function recall(
  sm2: unknown,
  a: unknown,
  last: unknown,
  has: unknown,
  card: unknown,
): SchedulerRecall | null {
  if (has !== true) return null;
  const lastReviewAt = (last ?? undefined) as number;
  return sm2 === true
    ? { scheduler: 'sm2', state: { intervalDays: (a ?? undefined) as number, lastReviewAt } }
    : {
        scheduler: 'fsrs',
        state: { stability: (a ?? undefined) as number, lastReviewAt, state: card as FsrsCardState },
      };
}

/** The recall inputs of a positional row whose recallColumns start at `at` (null: the scheduler has no state). */
export function recallOf(r: ArrayLike<unknown>, at: number): SchedulerRecall | null {
  return recall(r[at], r[at + 1], r[at + 2], r[at + 3], r[at + 4]);
}

/** The scheduler of a positional row whose recallColumns start at `at` (whether or not it has a state yet). */
export function recallSchedulerOf(r: ArrayLike<unknown>, at: number): 'sm2' | 'fsrs' {
  return r[at] === true ? 'sm2' : 'fsrs';
}

/** The recall inputs of a row read with recallColumns(m, true). */
export function recallOfRow(r: Record<string, unknown>): SchedulerRecall | null {
  return recall(r.recall_sm2, r.recall_a, r.recall_last, r.recall_has, r.recall_card);
}

/**
 * The part of learner_state a request-time prediction reads (services/domain/learner-model.ts predictLearner,
 * pooledLearner): ability, stability, last answer, newest material, pooling sums (0 in states written before
 * pooling).
 */
export type LearnerNowState = Pick<LearnerState, 'mu' | 'v' | 's' | 'lastAt' | 'pg' | 'pi'> & {
  materialAt: number | null;
};

const LEARNER: Projection = (['mu', 'v', 's', 'lastAt', 'materialAt', 'pg', 'pi'] as const).map((f) => [
  `learner_${f.toLowerCase()}`,
  (m: string) => `(${m}.learner_state->>'${f}')::float8`,
]);

/** The SQL of a row's learner state over the topic_mastery alias `m` (`named`: with this module's column names). */
export function learnerColumns(m: string, named = false): string {
  return select(LEARNER, m, named);
}

function learner(
  mu: unknown,
  v: unknown,
  s: unknown,
  lastAt: unknown,
  materialAt: unknown,
  pg: unknown,
  pi: unknown,
): LearnerNowState | null {
  if (mu == null) return null;
  return {
    mu: mu as number,
    v: v as number,
    s: s as number,
    lastAt: (lastAt as number | null) ?? null,
    materialAt: (materialAt as number | null) ?? null,
    pg: (pg as number | null) ?? 0,
    pi: (pi as number | null) ?? 0,
  };
}

/** The learner state of a positional row whose learnerColumns start at `at` (null: none, parents and old rows). */
export function learnerOf(r: ArrayLike<unknown>, at: number): LearnerNowState | null {
  return learner(r[at], r[at + 1], r[at + 2], r[at + 3], r[at + 4], r[at + 5], r[at + 6]);
}

/** The learner state of a row read with learnerColumns(m, true). */
export function learnerOfRow(r: Record<string, unknown>): LearnerNowState | null {
  return learner(
    r.learner_mu,
    r.learner_v,
    r.learner_s,
    r.learner_lastat,
    r.learner_materialat,
    r.learner_pg,
    r.learner_pi,
  );
}

/**
 * Two aggregate columns over the topic_mastery alias `m` of a GROUP BY: the sums of the learner model's pooling
 * terms (PoolSums g and i; 0 for a group without any).
 */
export function learnerPoolSums(m: string): string {
  return `coalesce(sum((${m}.learner_state->>'pg')::float8), 0), coalesce(sum((${m}.learner_state->>'pi')::float8), 0)`;
}
