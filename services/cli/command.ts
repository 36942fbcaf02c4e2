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

/** A positive whole-number option (`--events 5000000`), or its default when absent; bad usage otherwise. */
export function positiveIntOption(value: string | undefined, name: string, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}
