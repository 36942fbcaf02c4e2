import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  KAFKAJS_CHECK_PENDING_INTERVAL_MS,
  type KafkajsRequestQueue,
} from '../../../services/shared/kafka.ts';

type Queue = KafkajsRequestQueue;
// The class kafkajs' connections use (same module instance as services/shared/kafka.ts patches).
const { prototype } = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: Queue;
};

function queue(throttledUntil: number, pending: unknown[], onCheck: () => void): Queue {
  const q = Object.create(prototype) as Queue;
  Object.assign(q, { throttledUntil, throttleCheckTimeoutId: null, pending, checkPendingRequests: onCheck });
  return q;
}

async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error) => void seen.push(w.name);
  process.on('warning', listener);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('kafkajs request queue timer (patched in services/shared/kafka.ts)', () => {
  it('a negative setTimeout does warn (the listener sees TimeoutNegativeWarning)', async () => {
    const seen = await warningsDuring(async () => {
      await new Promise((r) => setTimeout(r, -5));
    });
    expect(seen).toContain('TimeoutNegativeWarning');
  });

  it('never throttled, nothing pending: schedules a check without a negative timeout', async () => {
    let checks = 0;
    const seen = await warningsDuring(async () => {
      queue(-1, [], () => checks++).scheduleCheckPendingRequests();
    });
    expect(seen).not.toContain('TimeoutNegativeWarning');
    expect(checks).toBe(1);
  });

  it('pending requests: checks again after the interval, or when the throttle ends', async () => {
    let checks = 0;
    const q = queue(-1, [{}], () => checks++);
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    q.scheduleCheckPendingRequests(); // already scheduled: no second timer
    await new Promise((r) => setTimeout(r, KAFKAJS_CHECK_PENDING_INTERVAL_MS + 20));
    expect(checks).toBe(1);
    const throttled = queue(Date.now() + 60, [{}], () => checks++);
    throttled.scheduleCheckPendingRequests();
    await new Promise((r) => setTimeout(r, 30));
    expect(checks).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(checks).toBe(2);
  });
});
