/**
 * Regression: `npm start` builds the dashboard in its own process, and Vite's build set NODE_ENV=production there;
 * the services it then started refused the development secrets ("JWT_SECRET ... required when NODE_ENV=production").
 */
import { describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../../services/web/build.ts';

describe('building the dashboard', () => {
  it("leaves the process's NODE_ENV as it was (unset, as under `npm start`)", async () => {
    const before = process.env.NODE_ENV; // vitest sets 'test'
    delete process.env.NODE_ENV;
    try {
      await ensureWebBuilt(true);
      expect(process.env.NODE_ENV).toBeUndefined();
    } finally {
      process.env.NODE_ENV = before;
    }
  }, 60_000);
});
