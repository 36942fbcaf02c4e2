/**
 * Where each route reads PostgreSQL (RouteSpec.reads: the read replica of PG_READ_URL, or the primary) is
 * documented per endpoint in services/analytics-api/README.md ("Reads: primary or replica"); this keeps the table
 * and the specs equal, so a new route or a changed choice cannot go undocumented. The routing itself is tested on
 * the cluster profile against a real standby (test/cluster/api-read-replica.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';

const README = readFileSync(new URL('../../../services/analytics-api/README.md', import.meta.url), 'utf8');

describe('API reads: primary or replica', () => {
  it('the README table states every route’s choice, as its spec declares it', () => {
    const section = README.split('## Reads: primary or replica')[1]!.split('\n## ')[0]!;
    const documented = Object.fromEntries(
      [...section.matchAll(/^\| `([^`]+)` \| (replica|primary) \|/gm)].map((m) => [m[1], m[2]]),
    );
    const declared = Object.fromEntries(
      ROUTES.filter((r) => r.scope !== 'reserved').map((r) => [
        r.path.replace('/api/analytics', '').replace(/:(\w+)/g, '{$1}'),
        r.reads ?? 'primary',
      ]),
    );
    expect(documented).toEqual(declared);
    // Stale-sensitive routes stay on the primary: the cohort releases are written on first use.
    expect(declared['/percentiles']).toBe('primary');
    expect(Object.values(declared).filter((r) => r === 'replica').length).toBeGreaterThan(0);
  });
});
