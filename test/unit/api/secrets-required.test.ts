import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEV_JWT_SECRET, loadApiConfig } from '../../../services/analytics-api/config.ts';
import { DEV_IP_SALT, loadIngestConfig } from '../../../services/ingest/config.ts';

/** Issue 18, finding 1: no secret written in the source is used outside an explicit development mode. */
describe('secrets outside development mode', () => {
  it('the API refuses to start without JWT_SECRET (no NODE_ENV needed), with a clear message', () => {
    expect(() => loadApiConfig({})).toThrow(/JWT_SECRET or JWT_JWKS_URL: required.*STUDYSTREAM_DEV_MODE=1/s);
    expect(() => loadApiConfig({ JWT_SECRET: '' })).toThrow(/JWT_SECRET/);
  });

  it('the API refuses a JWT_SECRET shorter than 32 bytes outside development mode', () => {
    expect(() => loadApiConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: at least 32 bytes/);
    expect(loadApiConfig({ JWT_SECRET: 's'.repeat(32) }).JWT_SECRET).toBe('s'.repeat(32));
  });

  it('the API verifies with an identity provider without any secret', () => {
    const cfg = loadApiConfig({ JWT_JWKS_URL: 'https://idp.example.org/.well-known/jwks.json' });
    expect(cfg.JWT_SECRET).toBe('');
  });

  it('ingest refuses to start without INGEST_IP_SALT', () => {
    expect(() => loadIngestConfig({})).toThrow(/INGEST_IP_SALT: required.*STUDYSTREAM_DEV_MODE=1/s);
    expect(loadIngestConfig({ INGEST_IP_SALT: 'a-real-salt' }).INGEST_IP_SALT).toBe('a-real-salt');
  });

  it('development mode falls back to the public secrets, and says so in the config', () => {
    expect(loadApiConfig({ STUDYSTREAM_DEV_MODE: '1' }).JWT_SECRET).toBe(DEV_JWT_SECRET);
    expect(loadApiConfig({ API_DEV_MODE: '1' }).JWT_SECRET).toBe(DEV_JWT_SECRET);
    const ingest = loadIngestConfig({ STUDYSTREAM_DEV_MODE: '1' });
    expect(ingest.INGEST_IP_SALT).toBe(DEV_IP_SALT);
    expect(ingest.ipSaltIsDefault).toBe(true);
  });

  it('development mode is refused with NODE_ENV=production', () => {
    expect(() => loadApiConfig({ STUDYSTREAM_DEV_MODE: '1', NODE_ENV: 'production' })).toThrow(
      /STUDYSTREAM_DEV_MODE: development mode is not allowed with NODE_ENV=production/,
    );
    expect(() =>
      loadIngestConfig({ STUDYSTREAM_DEV_MODE: '1', NODE_ENV: 'production', INGEST_IP_SALT: 'x' }),
    ).toThrow(/STUDYSTREAM_DEV_MODE/);
  });

  it('docker-compose.yml requires both secrets and never turns development mode on', () => {
    const text = readFileSync(new URL('../../../docker-compose.yml', import.meta.url), 'utf8');
    const doc = parse(text, { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    expect(doc.services.ingest!.environment!.INGEST_IP_SALT).toMatch(/^\$\{INGEST_IP_SALT:\?.+\}$/);
    expect(doc.services['analytics-api']!.environment!.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?.+\}$/);
    expect(text).not.toMatch(/DEV_MODE/);
  });
});
