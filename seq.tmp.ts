import { signToken } from './services/analytics-api/auth.ts';
import { loadApiConfig } from './services/analytics-api/config.ts';
const cfg = loadApiConfig();
const users = Array.from({ length: 40 }, (_, i) => `sim-02904b-${String(i * 23).padStart(5, '0')}`);
const tokens = await Promise.all(users.map((u) => signToken({ sub: u, role: 'student' }, { secret: cfg.JWT_SECRET, ttlSec: 3600, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE })));
for (const p of ['dashboard', 'mastery', 'mastery/cardio.phys.cardiac-cycle', 'study-patterns', 'reviews', 'sessions', 'percentiles']) {
  const ts: number[] = [];
  for (let i = 0; i < users.length; i++) {
    const t0 = performance.now();
    const r = await fetch(`http://127.0.0.1:18092/api/analytics/${p}`, { headers: { Authorization: `Bearer ${tokens[i]}` } });
    await r.text();
    if (r.status !== 200) console.log(p, r.status);
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  console.log(p.padEnd(40), 'p50', ts[20].toFixed(1), 'p90', ts[36].toFixed(1), 'min', ts[0].toFixed(1));
}
