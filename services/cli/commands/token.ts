import { ROLES, parseTtl, signToken, type Role } from '../../analytics-api/index.ts';
import { apiEnv, loadApiConfig, revokeTokens } from '../../analytics-api/index.ts';
import { cohortId, userId } from '../../analytics-api/index.ts';
import { loadConfig } from '../../shared/config.ts';
import { ingestEnv } from '../../ingest/index.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

const revokeHelp = `usage: studystream token revoke --user ID [--jti J] [--ingest] [--reason TEXT]

Revokes analytics API tokens before they expire: with --jti the one token with that id, without it every token of
the user issued until now (tokens minted afterwards work). Works for identity-provider tokens too. Every API process
refuses them (401 token_revoked) within API_SERVER_CHECKS_CACHE_MS.
--ingest: the student's per-student ingest tokens instead (X-Ingest-Token; --jti is the "jti" POST /v1/tokens
answered). Every ingest process refuses them (401 ingest_token_revoked) within INGEST_TOKEN_REVOCATION_CACHE_MS.
`;

export const help = `usage: studystream token --user ID --role student|educator|admin [--cohort C ...] [--ttl 1h]
       studystream token revoke --user ID [--jti J] [--ingest] [--reason TEXT]

Prints a locally signed (HS256, JWT_SECRET) analytics API token (with a random jti, printed on stderr). --cohort
(educators only, repeatable) lists the cohorts the educator may read; the API also requires each to be assigned to
the educator (studystream educators assign). Refuses when JWT_JWKS_URL is set (tokens then come from the identity
provider). \`token revoke\`: see its --help.
`;
export const subcommands = { revoke: revokeHelp };

async function revoke(args: string[]): Promise<void> {
  const { values, positionals } = parseOptions(args, {
    user: { type: 'string' },
    jti: { type: 'string' },
    ingest: { type: 'boolean', default: false },
    reason: { type: 'string', default: '' },
  });
  if (positionals.length > 0 || !values.user) throw new UsageError(revokeHelp.trimEnd());
  if (!userId.safeParse(values.user).success) throw new UsageError('--user: 1-64 letters, digits, _ or -');
  // No secret needed to revoke: only the longest lifetime of the kind of token and the bound to report.
  let maxTtlSec: number;
  let boundMs: number;
  if (values.ingest) {
    const cfg = ingestEnv.load(process.env);
    [maxTtlSec, boundMs] = [cfg.INGEST_TOKEN_MAX_TTL_SEC, cfg.INGEST_TOKEN_REVOCATION_CACHE_MS];
  } else {
    const cfg = apiEnv.load(process.env);
    [maxTtlSec, boundMs] = [cfg.JWT_MAX_TTL_SEC, cfg.API_SERVER_CHECKS_CACHE_MS];
  }
  const pool = createPgPool(loadConfig());
  try {
    const id = await revokeTokens(pool, values.user, {
      jti: values.jti,
      reason: values.reason,
      maxTtlSec,
      kind: values.ingest ? 'ingest' : 'api',
    });
    const what = values.ingest ? 'ingest token' : 'token';
    process.stdout.write(
      `revoked ${values.jti ? `${what} ${values.jti}` : `every ${what} issued until now`} of ${values.user} (revocation ${id}); effective within ${boundMs} ms\n`,
    );
  } finally {
    await pool.end();
  }
}

/**
 * `studystream token`: prints a locally signed (HS256, JWT_SECRET) analytics API token. Production tokens come
 * from the identity provider (JWT_JWKS_URL); this command refuses to mint when JWKS verification is configured.
 */
const token: Command = async (args) => {
  if (args[0] === 'revoke') return revoke(args.slice(1));
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
  const { jti } = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jti: string };
  process.stderr.write(`jti ${jti} (studystream token revoke --user ${values.user} --jti ${jti})\n`);
  process.stdout.write(`${jwt}\n`);
};
export default token;
