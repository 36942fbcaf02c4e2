import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A subcommand: receives the arguments after its name; returns an exit code (default 0) or throws. */
export type Command = (args: string[]) => Promise<number | void>;

/**
 * What a command module exports: the command, its help text (starts with "usage:"; without one the CLI prints
 * `usage: studystream <command> ...` and the command's summary), and the help of each of its subcommands
 * (`studystream <command> <sub> --help`), if it has any. The CLI answers `--help`/`-h` from these without running
 * the command.
 */
export type CommandModule = {
  default: Command;
  help?: string;
  subcommands?: Record<string, string>;
};

/** Bad usage: reported on stderr with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** parseArgs that turns unknown or malformed options into a UsageError. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // Node adds a hint on '--' positionals to unknown options; the usage printed with the error says enough.
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** For commands without options or arguments: anything given is bad usage. */
export function noArguments(args: string[]): void {
  const { positionals } = parseOptions(args, {});
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
}

/** A positive whole-number option (`--events 5000000`), or its default when absent; bad usage otherwise. */
export function positiveIntOption(value: string | undefined, name: string, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

/** True when the arguments ask for help (`--help` or `-h` before a `--`). */
export function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}
