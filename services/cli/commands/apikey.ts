import { loadConfig } from '../../shared/config.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { createApiKey } from '../../ingest/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream apikey create --name N

Creates an ingest API key named N and prints it once on stdout (PostgreSQL stores only its hash). Clients send it
in the X-API-Key header.
`;
export const subcommands = { create: help };

/** `studystream apikey create --name N`: creates an ingest API key and prints it once (only its hash is stored). */
const apikey: Command = async (args) => {
  const { values, positionals } = parseOptions(args, { name: { type: 'string' } });
  if (positionals[0] !== 'create' || positionals.length !== 1) throw new UsageError(help.trimEnd());
  const name = values.name?.trim();
  if (!name) throw new UsageError('apikey create: --name is required');
  const pool = createPgPool(loadConfig());
  try {
    const { key, prefix } = await createApiKey(pool, name);
    process.stderr.write(`created API key ${prefix} for "${name}"; it is shown only once:\n`);
    console.log(key);
  } finally {
    await pool.end();
  }
};
export default apikey;
