import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const STACK = new URL('../../../deploy/stack.sh', import.meta.url).pathname;
const MAIN_RUN_DIR = new URL('../../../.stack/run/', import.meta.url).pathname;

function stack(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('bash', [STACK, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function pids(runDir: string): Record<string, number> {
  return Object.fromEntries(
    readdirSync(runDir)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => [f.replace(/\.pid$/, ''), Number(readFileSync(join(runDir, f), 'utf8').trim())]),
  );
}

/** A live process; a zombie (exited, waiting for a parent that may never reap it in a container) is not. */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('the native stack', () => {
  it('`up` on a running stack is a no-op: same processes, all healthy', () => {
    const before = pids(MAIN_RUN_DIR);
    expect(Object.keys(before).sort()).toEqual(['clickhouse', 'kafka', 'postgres', 'redis', 'registry']);
    const r = stack(['up']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/already running/);
    expect(pids(MAIN_RUN_DIR)).toEqual(before);
    expect(stack(['status']).code).toBe(0);
  });

  describe('a second stack in its own folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'studystream-stack-'));
    const env = { STACK_DIR: dir, REDIS_PORT: '26391' };
    afterAll(() => {
      stack(['down', 'redis'], env);
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts, stays up across a second `up`, and leaves no process of ours after `down`', () => {
      expect(stack(['up', 'redis'], env).code).toBe(0);
      const [first] = Object.values(pids(join(dir, 'run')));
      expect(first).toBeGreaterThan(0);
      expect(alive(first!)).toBe(true);

      const again = stack(['up', 'redis'], env);
      expect(again.code).toBe(0);
      expect(Object.values(pids(join(dir, 'run')))).toEqual([first]);

      expect(stack(['down', 'redis'], env).code).toBe(0);
      expect(alive(first!)).toBe(false);
      expect(existsSync(join(dir, 'run', 'redis.pid'))).toBe(false);
      expect(stack(['status', 'redis'], env).code).not.toBe(0);
    });

    it('refuses a port taken by a process that is not ours, naming the variable that moves it', () => {
      // The main stack's Redis holds 6379; this stack has no pid file for it.
      const r = stack(['up', 'redis'], { STACK_DIR: dir, REDIS_PORT: '6379' });
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/port 6379 is in use by another process; set REDIS_PORT/);
    });
  });
});
