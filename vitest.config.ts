import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // A few unit tests start a child process (the SDK's crash test); they run beside the integration
          // project on 2 cores, so they get more than the default 5 s.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration tests share one local stack; each test isolates itself with its own
          // topic prefix, ClickHouse database and PostgreSQL schema, but CPU is scarce (2 cores).
          fileParallelism: false,
        },
      },
      {
        test: {
          // Replays the statements the integration run captured on chDB (a current ClickHouse) and compares:
          // deploy/test.sh runs it after the other projects (CURRENT_CLICKHOUSE_CAPTURE); alone, it captures a run.
          name: 'current-clickhouse',
          include: ['test/current-clickhouse/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 3_600_000,
        },
      },
    ],
  },
});
