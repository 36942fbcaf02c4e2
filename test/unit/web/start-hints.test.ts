import { describe, expect, it } from 'vitest';
import { createVerifier } from '../../../services/analytics-api/auth.ts';
import { dashboardHints } from '../../../services/web/build.ts';

const cfg = {
  HTTP_HOST: '127.0.0.1',
  API_PORT: 8090,
  API_DEV_MODE: true,
  JWT_SECRET: 'unit-secret-unit-secret-unit-secret',
  JWT_JWKS_URL: '',
  JWT_ISSUER: 'studystream',
  JWT_AUDIENCE: 'studystream-api',
};

describe('what `npm start` prints about the dashboard', () => {
  it('dev mode: the URL and a one-click sign-in link whose token the API accepts for the demo student', async () => {
    const lines = await dashboardHints(cfg, 'stu-demo', true);
    expect(lines[0]).toContain('dashboard: http://127.0.0.1:8090/');
    const token = /#token=([A-Za-z0-9._-]+)$/.exec(lines[1]!)![1]!;
    const verify = createVerifier({
      secret: cfg.JWT_SECRET,
      issuer: cfg.JWT_ISSUER,
      audience: cfg.JWT_AUDIENCE,
    });
    expect(await verify(token)).toMatchObject({ sub: 'stu-demo', role: 'student', cohorts: [] });
  });

  it('no link outside dev mode or with an identity provider, a hint when not built', async () => {
    for (const c of [
      { ...cfg, API_DEV_MODE: false },
      { ...cfg, JWT_JWKS_URL: 'https://idp.example.org/jwks' },
    ]) {
      const lines = await dashboardHints(c, 'stu-demo', true);
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain('token=');
    }
    expect((await dashboardHints(cfg, 'stu-demo', false))[0]).toContain('not built');
  });
});
