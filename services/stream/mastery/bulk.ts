/**
 * The build phase of `rebuild --store mastery`: the mastery processor's own steps (decode, admit by position,
 * event_id dedupe, the pure row step `applyFresh`, the roll-up `rollUp`), with the state held in memory while the
 * topics are drained from offset 0, and written to the empty shadow schema once at the end.
 *
 * Why: the live processor pays, per batch, a transaction that claims every event_id in processed_events (a
 * growing primary-key index of random UUIDs), locks and reads back every touched row with its processor_state
 * (jsonb, rewritten, TOASTed and left as a dead tuple on every batch) and recomputes the parents. A rebuild reads
 * each student's whole history once, so each row's final state is written once instead of once per batch.
 *
 * Guarantees kept:
 *  - No event counted twice: records below the in-memory position of their partition are skipped (re-delivery
 *    after a rebalance), and every event_id is applied at most once (an in-memory set over the whole run, the same
 *    rule as processed_events). The claims are then written to the shadow's processed_events (index built after
 *    the load), so the catch-up runs and, after the switch, the live processor keep skipping them.
 *  - Same result as the live processor: the same functions in the same order per partition (the row step is pure
 *    and per row; parents are rolled up by the live code from the written leaves). `rebuild` verifies the shadow
 *    against live (checksums) before switching anyway.
 *  - Crash safety: nothing is visible before the switch; a failed build leaves a shadow schema that is dropped,
 *    and the rebuild is re-run from offset 0. After the write, catch-up runs use the regular (transactional)
 *    processor over the shadow, with the positions written here.
 */
import type { EventCodec } from '../../shared/codec.ts';
import type { Pool, PoolClient } from '../../shared/postgres.ts';
import { leafFigures } from '../../domain/topic-figures.ts';
import type { MasteryConfig } from './config.ts';
import { toMasteryInput, type MasteryInput } from './decode.ts';
import type { ItemCalibration } from './items.ts';
import { recordLateEvents, type LateEvent } from '../stateful/late-events.ts';
import { admitRecords, savePositions, type StoredPosition } from '../stateful/positions.ts';
import { applyFresh, firstCopiesById, leafKeysOf, MASTERY_PROCESSOR, rollUp } from './processor.ts';
import { emptyTopicMastery, type TopicMasteryState } from '../../domain/topic-mastery.ts';
import { claimEvents, insertRows, writeHistory, type HistoryWrite, type RowKey } from './store.ts';
import type { TopicTree } from './taxonomy.ts';
import { decodeWireCached } from '../stateful/wire.ts';
import type { ProcessorDefinition } from '../runtime/definition.ts';
import type { FlushBatch } from '../runtime/types.ts';
import { insertStudyReads, StudyReads } from './study-reads.ts';
import { insertReviewDays, ReviewDays } from './review-days.ts';

/** Rows per statement of the final write. */
const CHUNK = 5000;
const CLAIM_CHUNK = 50_000;

function* chunks<T>(list: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

export type MasteryBulkDeps = {
  codec: EventCodec;
  tree: TopicTree;
  config: MasteryConfig;
  topics: { attempts: string; materials: string };
  /** The rebuild's group: Kafka group of the drain, and the key of the shadow's positions and claims. */
  groupId: string;
  /** The question-bank calibration the live processor uses (item_calibration). */
  items?: ItemCalibration;
};

export class MasteryBulkBuild {
  private readonly deps: MasteryBulkDeps;
  private readonly rows = new Map<string, TopicMasteryState>();
  private readonly keys = new Map<string, RowKey>();
  private readonly history = new Map<string, HistoryWrite>();
  private readonly late = new Map<string, LateEvent>();
  /** event_id -> occurred_at of every applied event (the in-memory processed_events). */
  private readonly claims = new Map<string, number>();
  private positions = new Map<string, StoredPosition>();
  /** The per-student read models (postgres/075), from the same fresh events. */
  private readonly reads = new StudyReads();
  /** The topic reviews (postgres/088), from the same fresh events. */
  private readonly reviews = new ReviewDays();
  /** Milliseconds spent applying batches (the pure step), for the profile. */
  applyMs = 0;

  constructor(deps: MasteryBulkDeps) {
    this.deps = deps;
  }

  get events(): number {
    return this.claims.size;
  }

  /** The processor definition draining the topics into memory (Kafka offsets of the rebuild's own group). */
  definition(): ProcessorDefinition<MasteryInput> {
    const { codec, tree } = this.deps;
    return {
      name: 'mastery-rebuild',
      groupId: this.deps.groupId,
      topics: [this.deps.topics.attempts, this.deps.topics.materials],
      offsets: { mode: 'kafka' },
      fromBeginning: true,
      decode: (record) =>
        decodeWireCached(codec, record, ({ family, value }) =>
          toMasteryInput(family, value, (id) => tree.kind(id)),
        ),
      handleBatch: (batch) => {
        this.apply(batch);
        return Promise.resolve();
      },
    };
  }

  /** One batch, as applyBatch does it, against the in-memory state. */
  apply(batch: FlushBatch<MasteryInput>): void {
    const started = performance.now();
    const { admitted, next } = admitRecords(batch.items, this.positions, batch.positions);
    const fresh = firstCopiesById(admitted).filter((i) => !this.claims.has(i.value.eventId));
    for (const i of fresh) {
      this.claims.set(i.value.eventId, i.value.occurredAt);
      this.reads.add(i.value);
      this.reviews.add(i.value);
    }
    for (const [k, v] of leafKeysOf(fresh)) this.keys.set(k, v);
    const { history, late } = applyFresh(
      fresh,
      (k) => {
        let row = this.rows.get(k);
        if (row === undefined) {
          row = emptyTopicMastery();
          this.rows.set(k, row);
        }
        return row;
      },
      next,
      this.deps.config.MASTERY_ALLOWED_LATENESS_MS,
      this.deps.config.MASTERY_SCHEDULER,
      this.deps.items,
    );
    for (const [k, h] of history) this.history.set(k, h);
    for (const l of late) if (!this.late.has(l.eventId)) this.late.set(l.eventId, l);
    this.positions = next;
    this.applyMs += performance.now() - started;
  }

  /**
   * Writes the state into the shadow schema (`pool`'s search_path): leaf rows, roll-ups, history, late events,
   * claims (processed_events loaded without its indexes, which are built afterwards) and positions.
   * Returns the time per stage (ms).
   */
  async write(pool: Pool): Promise<Record<string, number>> {
    const scheduler = this.deps.config.MASTERY_SCHEDULER;
    const timing: Record<string, number> = {};
    const stage = async (name: string, work: () => Promise<void>) => {
      const t = performance.now();
      await work();
      timing[name] = Math.round(performance.now() - t);
    };
    // Sorted by student and topic: a chunk holds whole students, so each parent is rolled up once.
    const keys = [...this.keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // Two connections: the leaf rows split between them (by student), then the roll-ups on one and the other
    // tables (independent of the rows) on the other.
    const [a, b] = [await pool.connect(), await pool.connect()];
    try {
      const half = keys.length / 2;
      const splitAt = keys.findIndex(([, key], i) => i >= half && key.userId !== keys[i - 1]?.[1].userId);
      const leaves = async (client: PoolClient, part: typeof keys) => {
        for (const c of chunks(part, CHUNK))
          await insertRows(
            client,
            c.map(([k, key]) => {
              const row = this.rows.get(k) as TopicMasteryState;
              return { ...key, level: 2, columns: leafFigures(row.visible, scheduler), processorState: row };
            }),
            scheduler,
          );
      };
      const cut = splitAt < 0 ? keys.length : splitAt;
      await stage('rows', async () => {
        await Promise.all([leaves(a, keys.slice(0, cut)), leaves(b, keys.slice(cut))]);
      });
      await Promise.all([
        stage('rollups', async () => {
          // The live roll-up code, over the written leaves: parents of every leaf, then their parents.
          let touched = keys.map(([, key]) => key);
          for (const level of [1, 0]) {
            const parents: RowKey[] = [];
            for (const part of chunks(touched, CHUNK))
              parents.push(...(await rollUp(a, this.deps.tree, part, level, scheduler)));
            touched = parents;
          }
        }),
        (async () => {
          await stage('history', async () => {
            for (const part of chunks([...this.history.values()], CHUNK)) await writeHistory(b, part);
          });
          await stage('study_reads', () => insertStudyReads(b, this.reads));
          await stage('topic_reviews', () => insertReviewDays(b, this.reviews));
          await stage('late_events', async () => {
            for (const part of chunks([...this.late.values()], CHUNK))
              await recordLateEvents(b, MASTERY_PROCESSOR, part);
          });
          await stage('processed_events', async () => {
            await b.query('ALTER TABLE processed_events DROP CONSTRAINT processed_events_pkey');
            await b.query('DROP INDEX processed_events_occurred_at_idx');
            const claims = [...this.claims];
            for (const part of chunks(claims, CLAIM_CHUNK)) await loadClaims(b, this.deps.groupId, part);
            await b.query('ALTER TABLE processed_events ADD PRIMARY KEY (consumer_group, event_id)');
            await b.query('CREATE INDEX processed_events_occurred_at_idx ON processed_events (occurred_at)');
          });
          await stage('positions', () => savePositions(b, this.deps.groupId, this.positions.values()));
        })(),
      ]);
      return timing;
    } finally {
      a.release();
      b.release();
    }
  }
}

/**
 * Appends claims (event_id, occurred_at ms) to processed_events, which holds none of them (ids unique here):
 * two text parameters split by the server, no per-row array escaping on our side and no RETURNING.
 */
async function loadClaims(client: PoolClient, group: string, claims: ReadonlyArray<[string, number]>) {
  const ids = claims.map(([id]) => id);
  if (ids.some((id) => id.includes(','))) {
    const inserted = await claimEvents(
      client,
      group,
      claims.map(([eventId, occurredAt]) => ({ eventId, occurredAt })),
    );
    if (inserted.size !== claims.length) throw new Error('processed_events: a claim was not inserted');
    return;
  }
  await client.query(
    `INSERT INTO processed_events (consumer_group, event_id, occurred_at)
     SELECT $1, e, to_timestamp(t::float8 / 1000.0)
     FROM unnest(string_to_array($2, ','), string_to_array($3, ',')) AS x(e, t)`,
    [group, ids.join(','), claims.map(([, t]) => t).join(',')],
  );
}
