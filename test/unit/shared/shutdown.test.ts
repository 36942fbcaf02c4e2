import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const NODE = process.execPath;
const url = (file: string) => new URL(`../../../services/shared/${file}`, import.meta.url).href;

/** Runs a service-like ESM entry point that installs the handlers, then fails the way `failure` says. */
function runFailing(failure: string) {
  const script = `
    import { createLogger } from '${url('logger.ts')}';
    import { Shutdown } from '${url('shutdown.ts')}';
    const log = createLogger('demo', 'info');
    const shutdown = new Shutdown(log, 1000);
    shutdown.add('never', () => { console.log('CLOSER RAN'); });
    shutdown.installSignalHandlers();
    ${failure}
  `;
  const r = spawnSync(NODE, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, LOG_FORMAT: 'json' },
    timeout: 20_000,
  });
  const records = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; kind?: string; err?: { message: string } });
  return { status: r.status, stdout: r.stdout, records };
}

describe('Shutdown: a process that fails leaves a fatal log record', () => {
  it.each([
    [
      'a rejected top-level await (a start-up step that gave up)',
      'await Promise.reject(new Error("kafka gave up"));',
      'uncaughtException',
    ],
    [
      'an unhandled rejection',
      'void Promise.reject(new Error("kafka gave up")); setTimeout(() => {}, 5000);',
      'unhandledRejection',
    ],
    [
      'an uncaught exception',
      'setTimeout(() => { throw new Error("kafka gave up"); }, 10);',
      'uncaughtException',
    ],
  ])('%s: exit 1, one fatal record with the error, no closers', (_, failure, kind) => {
    const { status, stdout, records } = runFailing(failure);
    expect(status).toBe(1);
    const fatal = records.filter((r) => r.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ msg: 'process failed', kind, err: { message: 'kafka gave up' } });
    expect(stdout).not.toContain('CLOSER RAN');
  });
});
