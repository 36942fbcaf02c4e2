import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SharedConfig } from '../../../services/shared/config.ts';
import { CLICKHOUSE_DIR, migrateClickHouse } from '../../../services/shared/migrations.ts';
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { groupByTable, mapRecord, type MappedRow } from '../../../services/stream/clickhouse-sink/rows.ts';
import { RawEventStore } from '../../../services/stream/clickhouse-sink/store.ts';

/** Writes question attempts straight through the sink's store (no Kafka): the rollups fill via the views. */
export async function writeAttempts(
  client: ClickHouseClient,
  attempts: Array<{ user: string; at: number; correct: boolean; topics?: string[]; attempt?: number }>,
): Promise<void> {
  const rows: MappedRow[] = attempts.map((a) => {
    const r = mapRecord('question-attempts', {
      event_id: randomUUID(),
      user_id: a.user,
      occurred_at: a.at,
      received_at: a.at,
      schema_version: 1,
      session_id: `s-${a.user}`,
      question_id: 'q',
      topic_ids: a.topics ?? ['cardio'],
      selected_answer: 'A',
      is_correct: a.correct,
      attempt_number: a.attempt ?? 1,
      time_to_answer_ms: 1000,
      confidence: null,
      difficulty: null,
      exam_section: null,
      mode: 'TUTOR',
      client: null,
    });
    if (!r.ok) throw new Error(r.error);
    return r.value;
  });
  const store = new RawEventStore(client, 86_400);
  for (const [table, list] of groupByTable(rows)) await store.write(table, list);
}

/**
 * Migrates the isolated database with only the migration files `only` matches (the database as it was before a later
 * migration, whose backfill a test then checks by migrating fully).
 */
export async function migrateOnly(cfg: SharedConfig, only: RegExp): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ch-migrations-'));
  try {
    for (const f of readdirSync(CLICKHOUSE_DIR).filter((f) => only.test(f)))
      copyFileSync(join(CLICKHOUSE_DIR, f), join(dir, f));
    await migrateClickHouse(cfg, cfg.CLICKHOUSE_DATABASE, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
