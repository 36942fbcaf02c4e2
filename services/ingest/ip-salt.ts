import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.ts';
import { hashIp } from './privacy.ts';

/** Hashes a client IP for the day `now` falls in (UTC). */
export interface IpHasher {
  hash(ip: string, now: number): Promise<string>;
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const KEEP_SEC = 48 * 3600;
const RETRY_REDIS_MS = 60_000;

/**
 * IP hashes with a salt that rotates every UTC day, as Plausible does: the day's salt is 32 random bytes, created
 * by whichever ingest instance needs it first (SET NX in Redis, so all instances share it) and expiring after 48 h,
 * after which no one can recompute that day's hashes, not even with INGEST_IP_SALT (which is mixed in as well, so
 * a Redis dump alone does not reverse them either). The same IP hashes the same within a day (counting distinct
 * clients works) and differently across days.
 *
 * Redis down: the instance makes a random salt of its own for the day (kept in memory only, never reversible;
 * hashes of the same IP then differ between instances until Redis answers again, retried every minute).
 */
export class DailySaltHasher implements IpHasher {
  private current: { day: string; salt: string; shared: boolean; at: number } | null = null;
  private pending: Promise<string> | null = null;
  private readonly redis: Redis;
  private readonly secret: string;
  private readonly log: Logger;

  constructor(redis: Redis, secret: string, log: Logger) {
    this.redis = redis;
    this.secret = secret;
    this.log = log;
  }

  async hash(ip: string, now: number): Promise<string> {
    return hashIp(`${this.secret}:${await this.salt(now)}`, ip);
  }

  /** The salt of `now`'s day (one Redis round trip per day and process). */
  salt(now: number): Promise<string> {
    const day = utcDay(now);
    const c = this.current;
    if (c && c.day === day && (c.shared || now - c.at < RETRY_REDIS_MS)) return Promise.resolve(c.salt);
    this.pending ??= this.load(day, now).finally(() => (this.pending = null));
    return this.pending;
  }

  private async load(day: string, now: number): Promise<string> {
    const key = `ingest:ip-salt:${day}`;
    try {
      await this.redis.set(key, randomBytes(32).toString('hex'), 'EX', KEEP_SEC, 'NX');
      const salt = await this.redis.get(key);
      if (!salt) throw new Error('the day salt vanished');
      this.current = { day, salt, shared: true, at: now };
    } catch (err) {
      const own = this.current?.day === day && !this.current.shared ? this.current.salt : null;
      if (!own)
        this.log.warn(
          { err: (err as Error).message },
          'IP salt: Redis unavailable, using a local salt for today',
        );
      this.current = { day, salt: own ?? randomBytes(32).toString('hex'), shared: false, at: now };
    }
    return this.current.salt;
  }
}

/** A fixed salt (unit tests, and the in-process default when no hasher is given). */
export const staticHasher = (salt: string): IpHasher => ({ hash: async (ip) => hashIp(salt, ip) });
