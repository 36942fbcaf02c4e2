import { UsageError, wantsHelp, type CommandModule } from './command.ts';

/**
 * `studystream <command>`: one entry point for operators and the data team.
 * Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 bad usage.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  schemas: {
    summary: 'schema registry: register|check (BACKWARD compatibility), types (regenerate TS types)',
    load: () => import('./commands/schemas.ts'),
  },
  apikey: {
    summary: 'apikey create --name N [--scope server|client]: create an ingest API key',
    load: () => import('./commands/apikey.ts'),
  },
  bench: {
    summary: 'bench <name>: run a benchmark (results in bench/results/)',
    load: () => import('./commands/bench.ts'),
  },
  start: {
    summary: 'run the whole engine locally (stack, migrations, services, demo data)',
    load: () => import('./commands/start.ts'),
  },
  stack: {
    summary:
      'native local stack: up|down|status|logs|reset [component...]; optional prometheus, alertmanager',
    load: () => import('./commands/stack.ts'),
  },
  run: {
    summary: 'run one service in the foreground: ingest|stream|analytics-api|jobs',
    load: () => import('./commands/run.ts'),
  },
  migrate: {
    summary: 'apply PostgreSQL and ClickHouse migrations, create Kafka topics',
    load: () => import('./commands/migrate.ts'),
  },
  simulate: {
    summary:
      'simulate a student cohort into ingest or Kafka: --students N --days D --seed S --via ingest|kafka',
    load: () => import('./commands/simulate.ts'),
  },
  demo: {
    summary: 'load the demo cohort when the topics are empty, then keep demo students active',
    load: () => import('./commands/demo.ts'),
  },
  'eval-insights': {
    summary:
      'measure the insights on simulated cohorts with and without planted effects: precision, recall, false-insight rate',
    load: () => import('./commands/eval-insights.ts'),
  },
  token: {
    summary:
      'token --user ID --role student|educator|admin [--cohort C] [--ttl 1h]: print an analytics API token | token revoke --user ID [--jti J]',
    load: () => import('./commands/token.ts'),
  },
  retention: {
    summary: 'drop ClickHouse monthly partitions older than --months (default 24) [--dry-run]',
    load: () => import('./commands/retention.ts'),
  },
  educators: {
    summary:
      'educators assign|unassign --educator ID --cohort C | list: server-side educator cohort assignments',
    load: () => import('./commands/educators.ts'),
  },
  'delete-user': {
    summary:
      'delete-user --user ID: right to deletion in every store (key destroyed on the topics, Redis, ClickHouse, PostgreSQL)',
    load: () => import('./commands/delete-user.ts'),
  },
  offsets: {
    summary:
      'offsets [--group G] | offsets reset --group G --to-earliest|--to-latest|--to-timestamp T [--execute]',
    load: () => import('./commands/offsets.ts'),
  },
  import: {
    summary:
      'import --file F [--format jsonl|csv] [--rejects FILE]: load historical events through ingest validation',
    load: () => import('./commands/import.ts'),
  },
  dlq: {
    summary: 'dead letters: list [--limit N] | show P:O | redrive --ids P:O,...|--all [--execute]',
    load: () => import('./commands/dlq.ts'),
  },
  replay: {
    summary:
      'replay --processor clickhouse-sink|sessions|mastery --from T|offsets --to T|offsets [--users u1,u2]',
    load: () => import('./commands/replay.ts'),
  },
  rebuild: {
    summary:
      'rebuild --store mastery|clickhouse|sessions: recompute into shadow tables, verify, switch atomically',
    load: () => import('./commands/rebuild.ts'),
  },
  'backfill-study-reads': {
    summary:
      'fill the per-student read models of knowledge gaps and exam readiness from the raw history (ClickHouse)',
    load: () => import('./commands/backfill-study-reads.ts'),
  },
  eval: {
    summary:
      'model quality on a held-out simulated cohort: mastery estimates (AUC, log loss), SM-2 vs FSRS recall',
    load: () => import('./commands/eval.ts'),
  },
  reconcile: {
    summary:
      'reconcile [--from T] [--to T] [--json]: raw history vs sessions and mastery (missing, late, dead-lettered)',
    load: () => import('./commands/reconcile.ts'),
  },
  jobs: {
    summary: 'batch jobs (BullMQ): list | run NAME [--wait] | status (counts, schedules, dead jobs)',
    load: () => import('./commands/jobs.ts'),
  },
  'train-readiness': {
    summary:
      'train the exam-readiness models on simulated seeds, report hold-out metrics, write models/readiness.json',
    load: () => import('./commands/train-readiness.ts'),
  },
  config: {
    summary: 'print every environment variable with its default and meaning',
    load: () => import('./commands/config.ts'),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: studystream <command> [options]   (studystream <command> --help: its usage and options)\n\ncommands:\n${lines.join('\n')}\n`;
}

/** Where the CLI writes (the process's streams, or a test's buffers). */
export type Io = { out: (text: string) => void; err: (text: string) => void };

const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

const withNewline = (t: string) => (t.endsWith('\n') ? t : `${t}\n`);

/** The help of `<command> [sub]` for these arguments: the subcommand's when the first argument names one. */
export function helpFor(name: string, mod: CommandModule, args: string[]): string {
  const sub = args[0] !== undefined ? mod.subcommands?.[args[0]] : undefined;
  return withNewline(
    sub ?? mod.help ?? `usage: studystream ${name} [options]\n\n${COMMANDS[name]?.summary ?? ''}`,
  );
}

/**
 * Runs `studystream <argv>`; returns the exit code. `--help`/`-h` anywhere before `--` prints the command's (or
 * subcommand's) help and exits 0 without running it; bad usage prints the reason and the usage, exit 2.
 */
export async function runCli(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? io.out : io.err)(usage());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.err(`studystream: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await entry.load();
  if (wantsHelp(rest)) {
    io.out(helpFor(name, mod, rest));
    return 0;
  }
  try {
    return (await mod.default(rest)) ?? 0;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const help = helpFor(name, mod, rest);
    const message = withNewline(err.message);
    io.err(help.includes(message.trim()) ? help : `studystream ${name}: ${message}\n${help}`);
    return 2;
  }
}
