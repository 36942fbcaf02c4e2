import { loadConfig } from './services/shared/config.ts';
import { teardown } from './test/support/isolated.ts';
for (const id of process.argv.slice(2)) {
  const env = {
    ...process.env,
    KAFKA_TOPIC_PREFIX: `${id}.`,
    CLICKHOUSE_DATABASE: `test_${id}`,
    PG_SCHEMA: `test_${id}`,
    REDIS_KEY_PREFIX: `test:${id}:`,
  };
  await teardown({ id, env, cfg: loadConfig(env) });
  console.log('dropped', id);
}
process.exit(0);
