import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTransientKafkaError, retryKafkaStart } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';

const log = createLogger('test', 'silent');
const timeout = () => new KafkaJSConnectionError('Connection timeout', { broker: '127.0.0.1:19094' });

/** A fake clock: sleeping advances it, so a test sees exactly which waits the retry chose. */
function clock() {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
  };
}

describe('isTransientKafkaError', () => {
  it('retriable kafkajs errors and exhausted kafkajs retries are transient; the rest is not', () => {
    expect(isTransientKafkaError(timeout())).toBe(true);
    expect(
      isTransientKafkaError(new KafkaJSNumberOfRetriesExceeded(timeout(), { retryCount: 8, retryTime: 1 })),
    ).toBe(true);
    expect(isTransientKafkaError(new KafkaJSNonRetriableError('SASL authentication failed'))).toBe(false);
    expect(isTransientKafkaError(new Error('plain'))).toBe(false);
    expect(isTransientKafkaError('Connection timeout')).toBe(false);
  });
});

describe('retryKafkaStart', () => {
  const backoff = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

  it('retries transient failures with backoff until the step succeeds', async () => {
    const c = clock();
    let calls = 0;
    const result = await retryKafkaStart(
      'producer connect',
      async () => {
        calls++;
        if (calls < 4) throw timeout();
        return 'connected';
      },
      { log, deadlineMs: 60_000, backoff, ...c },
    );
    expect(result).toBe('connected');
    expect(calls).toBe(4);
    expect(c.waits).toEqual([100, 200, 400]);
  });

  it('throws a non-transient failure at once', async () => {
    const c = clock();
    const denied = new KafkaJSNonRetriableError('Topic authorization failed');
    await expect(
      retryKafkaStart('subscribe', () => Promise.reject(denied), { log, deadlineMs: 60_000, backoff, ...c }),
    ).rejects.toBe(denied);
    expect(c.waits).toEqual([]);
  });

  it('gives up with the last failure when the next wait would pass the deadline', async () => {
    const c = clock();
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(timeout());
    };
    await expect(
      retryKafkaStart('consumer connect', failing, { log, deadlineMs: 1500, backoff, ...c }),
    ).rejects.toMatchObject({ name: 'KafkaJSConnectionError' });
    // Waited 100 + 200 + 400 + 800 = 1500 ms, the deadline; the next wait (1000) would pass it.
    expect(c.waits).toEqual([100, 200, 400, 800]);
    expect(calls).toBe(5);
  });

  it('stops retrying once the service is stopping', async () => {
    const c = clock();
    let calls = 0;
    let stopping = false;
    await expect(
      retryKafkaStart(
        'producer connect',
        () => {
          calls++;
          if (calls === 2) stopping = true;
          return Promise.reject(timeout());
        },
        { log, deadlineMs: 60_000, backoff, stopping: () => stopping, ...c },
      ),
    ).rejects.toMatchObject({ name: 'KafkaJSConnectionError' });
    expect(calls).toBe(2);
  });
});
