import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../../services/analytics-api/config.ts';

const secret = 'x'.repeat(40);

describe('API_DEV_MODE', () => {
  it('is off by default and on with 1', () => {
    expect(loadApiConfig({ JWT_SECRET: secret }).API_DEV_MODE).toBe(false);
    expect(loadApiConfig({ API_DEV_MODE: '1' }).API_DEV_MODE).toBe(true);
  });

  it('is refused in production and with an identity provider (it mints tokens)', () => {
    expect(() => loadApiConfig({ API_DEV_MODE: '1', NODE_ENV: 'production', JWT_SECRET: secret })).toThrow(
      /API_DEV_MODE/,
    );
    expect(() =>
      loadApiConfig({ API_DEV_MODE: '1', JWT_JWKS_URL: 'https://idp.example.org/.well-known/jwks.json' }),
    ).toThrow(/API_DEV_MODE/);
    expect(loadApiConfig({ NODE_ENV: 'production', JWT_SECRET: secret }).API_DEV_MODE).toBe(false);
  });
});
