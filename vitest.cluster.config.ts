import { defineConfig } from 'vitest/config';

/**
 * The fault-injection tests of the cluster profile (`npm run test:cluster`, deploy/test-cluster.sh), kept out of
 * vitest.config.ts so that the default `npm test` never runs them: they kill and restart the cluster's nodes.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    environment: 'node',
    testTimeout: 480_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
