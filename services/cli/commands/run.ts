import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, type Command } from '../command.ts';
import { SERVICES } from './start.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `studystream run <service>`: runs one service in this process (what containers and supervisors call). */
const run: Command = async (args) => {
  const [name] = args;
  const service = SERVICES.find((s) => s.name === name);
  if (!service) throw new UsageError(`run <service>: one of ${SERVICES.map((s) => s.name).join(', ')}`);
  const entry = `${ROOT}${service.entry}`;
  if (!existsSync(entry)) throw new Error(`service ${name} is not built yet (${service.entry} missing)`);
  await import(entry);
  // The service keeps the process alive; it exits through its own shutdown handler.
  await new Promise(() => {});
};
export default run;
