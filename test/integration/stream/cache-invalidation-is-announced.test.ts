import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/shared/logger.ts';
import { createRedis, redisReady } from '../../../services/shared/redis.ts';
import { invalidationChannel, publishInvalidations } from '../../../services/stream/runtime/invalidation.ts';
import { isolatedEnv, teardown } from '../../support/isolated.ts';

const iso = isolatedEnv('invalidate');

describe('cache invalidation announcements', () => {
  afterAll(() => teardown(iso));

  it('announces each changed student once on the prefixed channel', async () => {
    const channel = invalidationChannel(iso.cfg.REDIS_KEY_PREFIX);
    expect(channel).toBe(`${iso.cfg.REDIS_KEY_PREFIX}invalidate`);
    const subscriber = await redisReady(createRedis({ ...iso.cfg, REDIS_KEY_PREFIX: '' }));
    const publisher = await redisReady(createRedis(iso.cfg));
    const received: string[] = [];
    subscriber.on('message', (ch: string, user: string) => {
      if (ch === channel) received.push(user);
    });
    await subscriber.subscribe(channel);
    await publishInvalidations(publisher, channel, ['stu_b', 'stu_a', 'stu_b'], createLogger('test', 'warn'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.sort()).toEqual(['stu_a', 'stu_b']);
    subscriber.disconnect();
    publisher.disconnect();
  });

  it('never fails the caller when Redis is unreachable', async () => {
    const dead = createRedis({ ...iso.cfg, REDIS_URL: 'redis://127.0.0.1:1/0' });
    dead.on('error', () => {});
    await expect(
      publishInvalidations(dead, 'x', ['stu_a'], createLogger('test', 'silent')),
    ).resolves.toBeUndefined();
    dead.disconnect();
  });
});
