import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A subcommand: receives the arguments after its name; returns an exit code (default 0) or throws. */
export type Command = (args: string[]) => Promise<number | void>;

/** Bad usage: reported on stderr with exit code 2. */
export class UsageError extends Error {}

/** parseArgs that turns unknown or malformed options into a UsageError. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
