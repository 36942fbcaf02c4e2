import { ROLES, parseTtl, signToken, type Role } from '../../analytics-api/index.ts';
import { loadApiConfig } from '../../analytics-api/index.ts';
import { cohortId, userId } from '../../analytics-api/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream token --user ID --role student|educator|admin [--cohort C ...] [--ttl 1h]

Prints a locally signed (HS256, JWT_SECRET) analytics API token. --cohort (educators only, repeatable) lists the
cohorts the educator may read. Refuses when JWT_JWKS_URL is set (tokens then come from the identity provider).
`;

/**
 * `studystream token`: prints a locally signed (HS256, JWT_SECRET) analytics API token. Production tokens come
 * from the identity provider (JWT_JWKS_URL); this command refuses to mint when JWKS verification is configured.
 */
const token: Command = async (args) => {
  const { values } = parseOptions(args, {
    user: { type: 'string' },
    role: { type: 'string' },
    cohort: { type: 'string', multiple: true },
    ttl: { type: 'string', default: '1h' },
  });
  if (!values.user || !values.role) throw new UsageError(help.trimEnd());
  if (!userId.safeParse(values.user).success) throw new UsageError('--user: 1-64 letters, digits, _ or -');
  if (!(ROLES as readonly string[]).includes(values.role))
    throw new UsageError(`--role: one of ${ROLES.join(', ')}`);
  const cohorts = values.cohort ?? [];
  for (const c of cohorts)
    if (!cohortId.safeParse(c).success) throw new UsageError(`--cohort ${c}: 1-64 letters, digits, _ or -`);
  if (cohorts.length > 0 && values.role !== 'educator')
    throw new UsageError('--cohort applies to --role educator only');
  let ttlSec: number;
  try {
    ttlSec = parseTtl(values.ttl);
  } catch (err) {
    throw new UsageError(`--ttl: ${(err as Error).message}`);
  }
  const cfg = loadApiConfig();
  if (ttlSec > cfg.JWT_MAX_TTL_SEC)
    throw new UsageError(
      `--ttl: at most ${cfg.JWT_MAX_TTL_SEC} s (JWT_MAX_TTL_SEC); the API refuses longer tokens`,
    );
  if (cfg.JWT_JWKS_URL)
    throw new Error('JWT_JWKS_URL is set: tokens come from the identity provider, not this command');
  const jwt = await signToken(
    { sub: values.user, role: values.role as Role, cohorts },
    { secret: cfg.JWT_SECRET, ttlSec, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE },
  );
  process.stdout.write(`${jwt}\n`);
};
export default token;
