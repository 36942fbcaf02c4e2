import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { declaredEnv, defineEnv, envBool, envInt, loadConfig } from '../../../services/shared/config.ts';

describe('shared configuration', () => {
  it('applies documented defaults', () => {
    const cfg = loadConfig({});
    expect(cfg.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(cfg.KAFKA_PARTITIONS).toBe(12);
    expect(cfg.SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(cfg.API_PORT).toBe(8090);
    expect(cfg.INGEST_PORT).toBe(8080);
  });

  it('reads overrides and splits lists', () => {
    const cfg = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', KAFKA_PARTITIONS: '3' });
    expect(cfg.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(cfg.KAFKA_PARTITIONS).toBe(3);
  });

  it('lists every invalid variable in one error', () => {
    expect(() =>
      loadConfig({ KAFKA_PARTITIONS: 'twelve', CLICKHOUSE_DATABASE: 'x; DROP', PG_SCHEMA: 'Bad' }),
    ).toThrow(/KAFKA_PARTITIONS[\s\S]*CLICKHOUSE_DATABASE[\s\S]*PG_SCHEMA/);
  });

  it('lets services declare their own documented variables', () => {
    const env = defineEnv(
      'unit-test',
      { UNIT_N: { default: '5', doc: 'a number' }, UNIT_ON: { default: 'false', doc: 'a flag' } },
      { UNIT_N: envInt('UNIT_N'), UNIT_ON: envBool('UNIT_ON') },
    );
    expect(env.load({})).toEqual({ UNIT_N: 5, UNIT_ON: false });
    expect(env.load({ UNIT_ON: 'true' }).UNIT_ON).toBe(true);
    expect(() => env.load({ UNIT_N: '1.5' })).toThrow(/UNIT_N must be an integer/);
    expect(declaredEnv().some((g) => g.group === 'unit-test')).toBe(true);
    expect(z.string().parse('ok')).toBe('ok');
  });
});
