import { runCli } from './cli.ts';

/**
 * `studystream <command>`: one entry point for operators and the data team (commands: services/cli/cli.ts).
 * Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 bad usage.
 */
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`studystream: ${message.split('\n')[0]}\n`);
    if (process.env.DEBUG) console.error(err);
    process.exitCode = 1;
  },
);
