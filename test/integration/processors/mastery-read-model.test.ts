/**
 * The mastery processor's read model of topic_mastery's JSON columns (services/stream/mastery/read-model.ts) against
 * real PostgreSQL: rows written by the processor's own writer (store.ts insertRows, from the domain's fold of random
 * answers under both schedulers, plus parents without states), read back through the projections, give what the
 * whole stored JSON gives: the same recall probability at any time as the scheduler's recall function on its full
 * state, the same learner state, the same pooling sums. The JSON is parsed here independently of the projection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { rand as seeded } from '../../support/seeded-data.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import {
  applyAttempt,
  emptyMasteryState,
  recallAt,
  type RetrievalScheduler,
} from '../../../services/domain/mastery.ts';
import { leafFigures } from '../../../services/domain/topic-figures.ts';
import { fsrsRecallProbability, type FsrsState } from '../../../services/domain/fsrs.ts';
import { sm2RecallProbability, type Sm2State } from '../../../services/domain/sm2.ts';
import { insertRows, type RowWrite } from '../../../services/stream/mastery/store.ts';
import {
  learnerColumns,
  learnerOf,
  learnerOfRow,
  learnerPoolSums,
  recallColumns,
  recallOf,
  recallOfRow,
  recallSchedulerOf,
  RECALL_WIDTH,
} from '../../../services/stream/index.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-02-01T08:00:00Z');

describe('mastery read model: the projections of topic_mastery JSON equal the stored states', () => {
  let iso: IsolatedEnv;
  let pg: Pool;
  let leaves: string[] = [];
  let parents: string[] = [];

  beforeAll(async () => {
    iso = isolatedEnv('mastery_rm');
    await provision(iso, { postgres: true });
    pg = createPgPool(iso.cfg);
    leaves = (
      await pg.query<{ id: string }>('SELECT id FROM topics WHERE level = 2 ORDER BY id LIMIT 12')
    ).rows.map((r) => r.id);
    parents = (
      await pg.query<{ id: string }>('SELECT id FROM topics WHERE level = 1 ORDER BY id LIMIT 2')
    ).rows.map((r) => r.id);
    const rand = seeded(14);
    const client = await pg.connect();
    try {
      for (const scheduler of ['sm2', 'fsrs'] as RetrievalScheduler[]) {
        const user = `rm-${scheduler}`;
        const rows: Array<RowWrite & { level: number }> = leaves.map((topicId, i) => {
          let state = emptyMasteryState();
          // Topic 0 keeps no answer (no scheduler or learner state); the others 1..40 answers over ~60 days.
          const n = i === 0 ? 0 : 1 + Math.floor(rand() * 40);
          let at = T0;
          for (let k = 0; k < n; k++) {
            at += Math.floor(rand() * 3 * DAY);
            state = applyAttempt(state, {
              occurredAt: at,
              correct: rand() < 0.7,
              attemptNumber: rand() < 0.8 ? 1 : 2,
              responseTimeMs: 10_000 + Math.floor(rand() * 150_000),
              confidence: rand() < 0.5 ? undefined : rand(),
              itemB: rand() < 0.5 ? undefined : rand() * 4 - 2,
            });
          }
          return {
            userId: user,
            topicId,
            level: 2,
            columns: leafFigures(state, scheduler),
            processorState: null,
          };
        });
        await insertRows(client, rows, scheduler);
        // Parents: roll-up rows without scheduler or learner state.
        await insertRows(
          client,
          parents.map((topicId) => ({
            userId: user,
            topicId,
            level: 1,
            columns: { ...rows[0]!.columns, sm2State: null, fsrsState: null, learnerState: null },
            processorState: null,
          })),
          scheduler,
        );
      }
    } finally {
      client.release();
    }
  });

  afterAll(async () => {
    await pg?.end();
    await teardown(iso);
  });

  type Stored = {
    topic_id: string;
    user_id: string;
    scheduler: string;
    sm2_state: Sm2State | null;
    fsrs_state: FsrsState | null;
    learner_state: Record<string, number | null> | null;
  };

  it('recall and learner state: positional and named reads equal the whole stored JSON', async () => {
    const whole = await pg.query<Stored>(
      'SELECT user_id, topic_id, scheduler, sm2_state, fsrs_state, learner_state FROM topic_mastery ORDER BY 1, 2',
    );
    const positional = await pg.query<unknown[]>({
      text: `SELECT m.user_id, m.topic_id, ${recallColumns('m')}, ${learnerColumns('m')} FROM topic_mastery m ORDER BY 1, 2`,
      rowMode: 'array',
    });
    const named = await pg.query<Record<string, unknown>>(
      `SELECT m.user_id, m.topic_id, ${recallColumns('m', true)}, ${learnerColumns('m', true)}
       FROM topic_mastery m ORDER BY 1, 2`,
    );
    expect(whole.rows.length).toBe(2 * (leaves.length + parents.length));
    expect(positional.rows.length).toBe(whole.rows.length);
    let withRecall = 0;
    let withLearner = 0;
    whole.rows.forEach((w, i) => {
      const p = positional.rows[i]!;
      expect([p[0], p[1]]).toEqual([w.user_id, w.topic_id]);
      const recall = recallOf(p, 2);
      expect(recallOfRow(named.rows[i]!)).toEqual(recall);
      expect(recallSchedulerOf(p, 2)).toBe(w.scheduler);
      const full = w.scheduler === 'sm2' ? w.sm2_state : w.fsrs_state;
      if (full === null) expect(recall).toBeNull();
      else {
        withRecall++;
        expect(recall?.scheduler).toBe(w.scheduler);
        for (const t of [
          full.lastReviewAt - DAY,
          full.lastReviewAt,
          full.lastReviewAt + 3 * DAY,
          T0 + 400 * DAY,
        ]) {
          const expected =
            w.scheduler === 'sm2'
              ? sm2RecallProbability(w.sm2_state!, t)
              : fsrsRecallProbability(w.fsrs_state!, t);
          expect(recallAt(recall!, t)).toBe(expected);
        }
      }
      const learner = learnerOf(p, 2 + RECALL_WIDTH);
      expect(learnerOfRow(named.rows[i]!)).toEqual(learner);
      if (w.learner_state === null) expect(learner).toBeNull();
      else {
        withLearner++;
        const l = w.learner_state;
        expect(learner).toEqual({
          mu: l.mu,
          v: l.v,
          s: l.s,
          lastAt: l.lastAt ?? null,
          materialAt: l.materialAt ?? null,
          pg: l.pg ?? 0,
          pi: l.pi ?? 0,
        });
      }
    });
    // Both schedulers' states and learner states were read (not only nulls).
    expect(withRecall).toBe(2 * (leaves.length - 1));
    expect(withLearner).toBe(2 * (leaves.length - 1));
  });

  it('pooling sums: the aggregate projection equals the sums of the stored JSON', async () => {
    const whole = await pg.query<Stored>('SELECT user_id, learner_state FROM topic_mastery');
    const expected = new Map<string, [number, number]>();
    for (const w of whole.rows) {
      const s = expected.get(w.user_id) ?? [0, 0];
      s[0] += w.learner_state?.pg ?? 0;
      s[1] += w.learner_state?.pi ?? 0;
      expected.set(w.user_id, s);
    }
    const { rows } = await pg.query<unknown[]>({
      text: `SELECT m.user_id, ${learnerPoolSums('m')} FROM topic_mastery m GROUP BY 1 ORDER BY 1`,
      rowMode: 'array',
    });
    expect(rows.length).toBe(2);
    for (const r of rows) {
      const [g, i] = expected.get(r[0] as string)!;
      expect(Number(r[1])).toBeCloseTo(g, 9);
      expect(Number(r[2])).toBeCloseTo(i, 9);
      expect(g).not.toBe(0);
    }
  });
});
