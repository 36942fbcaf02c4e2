import { describe, expect, it } from 'vitest';
import { Wakeup } from '../../../services/stream/runtime/wakeup.ts';

describe('Wakeup', () => {
  it('notify() resolves every waiter at once, long before its timeout', async () => {
    const w = new Wakeup();
    const started = performance.now();
    const waits = [w.wait(60_000), w.wait(60_000)];
    w.notify();
    await Promise.all(waits);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a waiter resolves on its own after its timeout', async () => {
    const w = new Wakeup();
    const started = performance.now();
    await w.wait(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('notify() reaches only those waiting at that moment', async () => {
    const w = new Wakeup();
    let first = false;
    let second = false;
    const a = w.wait(60_000).then(() => (first = true));
    w.notify();
    const b = w.wait(50).then(() => (second = true));
    await a;
    expect(first).toBe(true);
    expect(second).toBe(false);
    await b;
    expect(second).toBe(true);
  });
});
