/**
 * Data tools against the real stack: importing the same file twice adds nothing the second time; `offsets reset`
 * in dry run changes nothing (and --execute refuses while the group is active); a dead letter fixed and re-driven
 * is applied exactly once (a second re-drive skips it).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chQuery } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { startMasteryProcessor } from '../../../services/stream/index.ts';
import type { RunningProcessor } from '../../../services/stream/runtime/processor.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { caughtUp, harness, startSink, type StreamHarness } from '../stream/support.ts';
import { cli, waitUntil } from './support.ts';

let iso: IsolatedEnv;
let h: StreamHarness;
let pool: Pool;
const dir = mkdtempSync(join(tmpdir(), 'ss-import-'));
const DAY = 86_400_000;
const base = Date.UTC(2024, 2, 4, 9);

beforeAll(async () => {
  iso = isolatedEnv('dt');
  await provision(iso, { postgres: true });
  h = await harness(iso);
  pool = createPgPool(iso.cfg);
});

afterAll(async () => {
  await pool?.end();
  await h?.close();
  if (iso) await teardown(iso);
});

function jsonlRows(): string[] {
  const rows: string[] = [];
  for (let i = 0; i < 40; i++) {
    const user = `imp_${i % 4}`;
    const occurred = base + i * 60_000 + Math.floor(i / 10) * DAY;
    const row: Record<string, unknown> =
      i % 2 === 0
        ? {
            family: 'question-attempts',
            user_id: user,
            occurred_at: new Date(occurred).toISOString(),
            session_id: `s-${user}`,
            question_id: `q-${i}`,
            topic_ids: ['cardio.hf'],
            selected_answer: 'A',
            is_correct: i % 3 === 0,
            attempt_number: 1,
            time_to_answer_ms: 30_000,
            mode: 'TUTOR',
          }
        : {
            family: 'study-events',
            user_id: user,
            occurred_at: occurred,
            event_type: 'MATERIAL_OPEN',
            session_id: `s-${user}`,
            material_id: `m-${i}`,
            material_type: 'TEXTBOOK',
            topic_ids: ['cardio.hf'],
          };
    if (i % 5 === 0) row.event_id = randomUUID(); // some rows carry their own id, the rest get a derived one
    rows.push(JSON.stringify(row));
  }
  rows.push('{"family": "question-attempts", "user_id": "x"'); // not JSON
  rows.push(
    JSON.stringify({
      family: 'study-events',
      user_id: 'a@b.c',
      occurred_at: base,
      event_type: 'SESSION_START',
    }),
  );
  return rows;
}

async function rawCounts(): Promise<{ rows: number; events: number }> {
  let rows = 0;
  let events = 0;
  for (const t of ['study_events', 'question_attempts', 'material_interactions']) {
    const [r] = await chQuery<{ rows: string; events: string }>(
      h.clickhouse,
      `SELECT count() AS rows, uniqExact(event_id) AS events FROM ${t}`,
    );
    rows += Number(r?.rows ?? 0);
    events += Number(r?.events ?? 0);
  }
  return { rows, events };
}

describe('import', () => {
  it('loads history through ingest validation; a second import of the same files adds nothing', async () => {
    const jsonl = join(dir, 'history.jsonl');
    writeFileSync(jsonl, `${jsonlRows().join('\n')}\n`);
    const csv = join(dir, 'history.csv');
    writeFileSync(
      csv,
      [
        'family,user_id,occurred_at,session_id,material_id,material_type,topic_ids,interaction_type,progress,client.platform',
        `material-interactions,imp_csv,${new Date(base).toISOString()},s1,m1,TEXTBOOK,cardio.hf;pharm.diuretics,READ_PROGRESS,0.5,WEB`,
        `material-interactions,imp_csv,${base + 1000},s1,m1,TEXTBOOK,cardio.hf,READ_PROGRESS,0.75,`,
        `material-interactions,imp_csv,${base + 2000},s1,m1,TEXTBOOK,cardio.hf,READ_PROGRESS,1.5,`,
      ].join('\n') + '\n',
    );
    const rejects = join(dir, 'rejects.jsonl');
    const first = await cli(iso.env, ['import', '--file', jsonl, '--rejects', rejects, '--quiet']);
    expect(first.code, first.stderr).toBe(1); // two rows rejected
    expect(first.stdout).toMatch(/accepted 40 \(event_id derived for 32\).*rejected 2/);
    const rejected = readFileSync(rejects, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; errors: Array<{ path: string }> });
    expect(rejected.map((r) => r.line)).toEqual([41, 42]);
    expect(rejected[1]!.errors.map((e) => e.path)).toContain('user_id');

    const csvRun = await cli(iso.env, [
      'import',
      '--file',
      csv,
      '--rejects',
      join(dir, 'csv-rejects.jsonl'),
      '--quiet',
    ]);
    expect(csvRun.code).toBe(1);
    expect(csvRun.stdout).toMatch(/accepted 2 .*rejected 1/);
    expect(readFileSync(join(dir, 'csv-rejects.jsonl'), 'utf8')).toMatch(/"line":4.*progress/);

    const sinkGroup = `${iso.id}-sink`;
    const sink = await startSink(h, sinkGroup);
    try {
      await waitUntil('sink caught up', () => caughtUp(h, sinkGroup));
      expect(await rawCounts()).toEqual({ rows: 42, events: 42 });
      const [old] = await chQuery<{ n: string }>(
        h.clickhouse,
        `SELECT count() AS n FROM question_attempts WHERE occurred_at < toDateTime('2024-04-01 00:00:00', 'UTC')`,
      );
      expect(Number(old?.n)).toBe(20); // original 2024 occurred_at kept (no max-age, no skew correction)

      const again = await cli(iso.env, ['import', '--file', jsonl, '--rejects', rejects, '--quiet']);
      expect(again.stdout).toMatch(/accepted 40/);
      await cli(iso.env, ['import', '--file', csv, '--rejects', join(dir, 'csv-rejects.jsonl'), '--quiet']);
      await waitUntil('sink caught up again', () => caughtUp(h, sinkGroup));
      expect(await rawCounts()).toEqual({ rows: 42, events: 42 });
    } finally {
      await sink.stop();
    }
  });
});

describe('offsets', () => {
  it('shows lag; reset in dry run changes nothing; --execute refuses an active group', async () => {
    const group = `${iso.id}-sink`;
    const before = await h.admin.fetchOffsets({
      groupId: group,
      topics: [`${iso.cfg.KAFKA_TOPIC_PREFIX}study-events`],
    });
    await pool.query(
      `INSERT INTO consumer_positions (consumer_group, topic, partition, next_offset) VALUES ($1, $2, 0, 7)`,
      [`${iso.id}-pg`, `${iso.cfg.KAFKA_TOPIC_PREFIX}study-events`],
    );

    const shown = await cli(iso.env, ['offsets', '--group', group]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/GROUP\s+SOURCE\s+TOPIC\s+PARTITION\s+COMMITTED\s+HIGH\s+LAG/);
    expect(shown.stdout).toMatch(new RegExp(`total lag ${group} \\(kafka\\): 0`));

    const dry = await cli(iso.env, ['offsets', 'reset', '--group', group, '--to-earliest']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run/);
    const dryPg = await cli(iso.env, [
      'offsets',
      'reset',
      '--group',
      `${iso.id}-pg`,
      '--to-timestamp',
      '2020-01-01T00:00:00Z',
    ]);
    expect(dryPg.code, dryPg.stderr).toBe(0);
    expect(dryPg.stdout).toMatch(/postgres\s+\S+study-events\s+0\s+7\s+0/);
    const after = await h.admin.fetchOffsets({
      groupId: group,
      topics: [`${iso.cfg.KAFKA_TOPIC_PREFIX}study-events`],
    });
    expect(after).toEqual(before);
    const { rows } = await pool.query(
      'SELECT next_offset FROM consumer_positions WHERE consumer_group = $1',
      [`${iso.id}-pg`],
    );
    expect(rows).toEqual([{ next_offset: 7 }]);

    const sink = await startSink(h, group);
    try {
      await waitUntil('sink joined', async () => sink.processor.ready());
      const refused = await cli(iso.env, [
        'offsets',
        'reset',
        '--group',
        group,
        '--to-earliest',
        '--execute',
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/active member/);
    } finally {
      await sink.stop();
    }
    const executed = await cli(iso.env, [
      'offsets',
      'reset',
      '--group',
      `${iso.id}-pg`,
      '--to-earliest',
      '--execute',
    ]);
    expect(executed.code, executed.stderr).toBe(0);
    const { rows: reset } = await pool.query(
      'SELECT partition, next_offset FROM consumer_positions WHERE consumer_group = $1 ORDER BY partition',
      [`${iso.id}-pg`],
    );
    expect(reset).toEqual([0, 1, 2].map((partition) => ({ partition, next_offset: 0 })));
  });
});

describe('dlq', () => {
  it('a dead letter fixed and re-driven is applied exactly once', async () => {
    const env = { ...iso.env, MASTERY_GROUP_ID: 'mastery-dlq', STREAM_BATCH_MAX_WAIT_MS: '200' };
    const redis = createRedis(iso.cfg);
    const deps = (kafkaGroupSuffix?: string) => ({
      cfg: iso.cfg,
      stream: streamEnv.load(env),
      kafka: h.kafka,
      pool,
      redis,
      log: createLogger('test', 'warn'),
      metrics: createMetricsRegistry('test'),
      env,
      kafkaGroupSuffix,
    });
    const user = 'dlq_student';
    const leaf = await pool.query<{ parent_id: string; system: string }>(
      'SELECT parent_id, system FROM topics WHERE level = 2 ORDER BY id LIMIT 1',
    );
    const { parent_id: parentId, system } = leaf.rows[0]!;
    const newTopic = `${parentId}.dlq-fixture`;
    const eventId = randomUUID();
    let mastery: RunningProcessor | undefined = await startMasteryProcessor(deps());
    try {
      await h.producer.publish([
        {
          family: 'question-attempts',
          record: {
            event_id: eventId,
            user_id: user,
            occurred_at: base,
            received_at: base,
            schema_version: 1,
            session_id: 's',
            question_id: 'q1',
            topic_ids: [newTopic],
            selected_answer: 'B',
            is_correct: true,
            attempt_number: 1,
            time_to_answer_ms: 1000,
            confidence: null,
            difficulty: null,
            exam_section: null,
            mode: 'TUTOR',
            client: null,
          },
        },
      ]);
      const dlqTopic = `${iso.cfg.KAFKA_TOPIC_PREFIX}dead-letter`;
      await waitUntil('dead letter', async () =>
        (await h.admin.fetchTopicOffsets(dlqTopic)).some((p) => Number(p.high) > 0),
      );
      const listed = await cli(iso.env, ['dlq', 'list']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/mastery\s+unknown_topic/);
      // Earlier tests' imports left other dead letters: find ours by its decoded event id.
      const candidates = [...listed.stdout.matchAll(/^(\d+:\d+)\s.*unknown_topic/gm)].map((m) => m[1]!);
      let id = '';
      for (const c of candidates) {
        const shown = await cli(iso.env, ['dlq', 'show', c]);
        expect(shown.code, shown.stderr).toBe(0);
        const detail = JSON.parse(shown.stdout) as {
          value: { decoded?: { event_id: string } };
          headers: Record<string, string>;
        };
        if (detail.value.decoded?.event_id === eventId) {
          expect(detail.headers['dlq.reason']).toBe('unknown_topic');
          expect(detail.headers['dlq.source.topic']).toBe(`${iso.cfg.KAFKA_TOPIC_PREFIX}question-attempts`);
          id = c;
        }
      }
      expect(id).not.toBe('');

      // The fix: the topic joins the taxonomy; the processor reloads it on restart.
      await pool.query(
        `INSERT INTO topics (id, name, parent_id, level, system, board_weight) VALUES ($1, 'DLQ fixture', $2, 2, $3, 0.01)`,
        [newTopic, parentId, system],
      );
      await mastery.stop();
      mastery = await startMasteryProcessor(deps('-restarted')); // fresh Kafka group: no wait for the old member

      const dry = await cli(iso.env, ['dlq', 'redrive', '--ids', id]);
      expect(dry.stdout).toMatch(/dry run: 1 would be re-driven/);
      const first = await cli(iso.env, ['dlq', 'redrive', '--ids', id, '--execute']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/re-driven 1, skipped 0/);
      const second = await cli(iso.env, ['dlq', 'redrive', '--ids', id, '--execute']);
      expect(second.stdout).toMatch(/re-driven 0, skipped 1/);

      const applied = async () =>
        (
          await pool.query<{ attempts: number }>(
            'SELECT attempts FROM topic_mastery WHERE user_id = $1 AND topic_id = $2',
            [user, newTopic],
          )
        ).rows[0]?.attempts ?? 0;
      await waitUntil('re-driven event applied', async () => (await applied()) > 0);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await applied()).toBe(1);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM dlq_redrives');
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await mastery?.stop();
      redis.disconnect();
    }
  });
});
