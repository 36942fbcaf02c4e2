import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { SERVICES } from './start.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const help = `usage: studystream run <service>

Runs one service in the foreground (what containers and supervisors call): ${SERVICES.map((s) => s.name).join(', ')}.
`;
export const subcommands = Object.fromEntries(
  SERVICES.map((s) => [s.name, `usage: studystream run ${s.name}\n\nRuns ${s.entry} in this process.\n`]),
);

/** `studystream run <service>`: runs one service in this process (what containers and supervisors call). */
const run: Command = async (args) => {
  const { positionals } = parseOptions(args, {});
  const [name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const service = SERVICES.find((s) => s.name === name);
  if (!service) throw new UsageError(`run <service>: one of ${SERVICES.map((s) => s.name).join(', ')}`);
  const entry = `${ROOT}${service.entry}`;
  if (!existsSync(entry)) throw new Error(`service ${name} is not built yet (${service.entry} missing)`);
  await import(entry);
  // The service keeps the process alive; it exits through its own shutdown handler.
  await new Promise(() => {});
};
export default run;
