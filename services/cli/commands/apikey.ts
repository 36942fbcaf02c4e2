import { loadConfig } from '../../shared/config.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { createApiKey, KEY_SCOPES, type KeyScope } from '../../ingest/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream apikey create --name N [--scope server|client]

Creates an ingest API key named N and prints it once on stdout (PostgreSQL stores only its hash). Clients send it
in the X-API-Key header. --scope server (the default): for an app's backend, writes any student's events and mints
per-student ingest tokens (POST /v1/tokens); never ship it to a browser or phone. --scope client: for browser and
mobile apps (public); writes only with an X-Ingest-Token, and only that token's student.
`;
export const subcommands = { create: help };

/** `studystream apikey create --name N`: creates an ingest API key and prints it once (only its hash is stored). */
const apikey: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    name: { type: 'string' },
    scope: { type: 'string', default: 'server' },
  });
  if (positionals[0] !== 'create' || positionals.length !== 1) throw new UsageError(help.trimEnd());
  const name = values.name?.trim();
  if (!name) throw new UsageError('apikey create: --name is required');
  const scope = values.scope as KeyScope;
  if (!KEY_SCOPES.includes(scope)) throw new UsageError(`--scope: one of ${KEY_SCOPES.join(', ')}`);
  const pool = createPgPool(loadConfig());
  try {
    const { key, prefix } = await createApiKey(pool, name, scope);
    process.stderr.write(`created ${scope} API key ${prefix} for "${name}"; it is shown only once:\n`);
    console.log(key);
  } finally {
    await pool.end();
  }
};
export default apikey;
