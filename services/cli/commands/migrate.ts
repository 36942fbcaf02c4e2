import { createKafka, ensureTopics, topicDeclarations } from '../../shared/kafka.ts';
import { loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { migrateClickHouse, migratePostgres } from '../../shared/migrations.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { loadTaxonomy } from '../../../postgres/taxonomy/load.ts';
import { noArguments, type Command } from '../command.ts';

/** Applies PostgreSQL and ClickHouse migrations, loads the taxonomy and creates missing Kafka topics. Safe to re-run. */
export async function migrateAll(log = createLogger('migrate')): Promise<void> {
  const cfg = loadConfig();
  const pool = createPgPool(cfg);
  try {
    const pg = await migratePostgres(pool, cfg.PG_SCHEMA);
    log.info({ applied: pg.applied, skipped: pg.skipped.length }, 'postgres migrations');
    log.info(await loadTaxonomy(pool), 'curriculum taxonomy loaded');
  } finally {
    await pool.end();
  }
  const ch = await migrateClickHouse(cfg, cfg.CLICKHOUSE_DATABASE);
  log.info({ applied: ch.applied, skipped: ch.skipped.length }, 'clickhouse migrations');
  const admin = createKafka(cfg, log, 'migrate').admin();
  await admin.connect();
  try {
    const created = await ensureTopics(admin, topicDeclarations(cfg));
    log.info({ created }, 'kafka topics');
  } finally {
    await admin.disconnect();
  }
}

export const help = `usage: studystream migrate

Applies the PostgreSQL (postgres/) and ClickHouse (clickhouse/) migrations, loads the curriculum taxonomy and
creates missing Kafka topics, in the namespace of the environment (PG_SCHEMA, CLICKHOUSE_DATABASE,
KAFKA_TOPIC_PREFIX). Safe to re-run.
`;

const migrate: Command = async (args) => {
  noArguments(args);
  await migrateAll();
};
export default migrate;
