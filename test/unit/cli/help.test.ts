import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS, runCli, type Io } from '../../../services/cli/cli.ts';

const BIN = fileURLToPath(new URL('../../../bin/studystream', import.meta.url));

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await runCli(argv, io);
  return { code, out, err };
}

// Every command and subcommand, enumerated from the CLI's own table (a new command is covered automatically).
const commands = Object.keys(COMMANDS);
const subcommands: Array<[string, string]> = [];
for (const name of commands) {
  const mod = await COMMANDS[name]!.load();
  for (const sub of Object.keys(mod.subcommands ?? {})) subcommands.push([name, sub]);
}

describe('studystream --help', () => {
  it('the command table and the subcommands are enumerated', () => {
    expect(commands).toEqual(expect.arrayContaining(['eval', 'bench', 'replay', 'stack', 'dlq']));
    expect(subcommands).toEqual(
      expect.arrayContaining([
        ['bench', 'processors'],
        ['dlq', 'redrive'],
      ]),
    );
  });

  it.each(commands)('%s --help and -h print its usage on stdout, exit 0', async (name) => {
    for (const flag of ['--help', '-h']) {
      const r = await run([name, flag]);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(new RegExp(`^usage:\\s+studystream ${name}\\b`));
    }
  });

  it.each(subcommands)('%s %s --help prints the subcommand usage, exit 0', async (name, sub) => {
    const r = await run([name, sub, '--help']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(new RegExp(`^usage:\\s+studystream ${name} ${sub}\\b`));
  });

  // `stack` hands its arguments to deploy/stack.sh (checked below with the real binary).
  const parsed = commands.filter((c) => c !== 'stack');
  it.each(parsed)('%s --no-such-option prints the usage on stderr, exit 2', async (name) => {
    const r = await run([name, '--no-such-option']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(new RegExp(`usage:\\s+studystream ${name}\\b`));
  });

  it.each(subcommands.filter(([c]) => c !== 'stack'))(
    '%s %s --no-such-option prints the usage on stderr, exit 2',
    async (name, sub) => {
      const r = await run([name, sub, '--no-such-option']);
      expect(r.code).toBe(2);
      expect(r.err).toContain('usage: studystream');
    },
  );

  it('an unknown command prints the command list, exit 2', async () => {
    const r = await run(['no-such-command']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('usage: studystream <command>');
  });

  it('the real binary: eval --help and bench processors --help exit 0, stack --no-such-option exits 2', () => {
    const opts = { encoding: 'utf8' as const, timeout: 60_000 };
    const evalHelp = spawnSync(BIN, ['eval', '--help'], opts);
    expect(evalHelp.status).toBe(0);
    expect(evalHelp.stdout).toMatch(/^usage: studystream eval/);
    const benchHelp = spawnSync(BIN, ['bench', 'processors', '--help'], opts);
    expect(benchHelp.status).toBe(0);
    expect(benchHelp.stdout).toMatch(/^usage: studystream bench processors/);
    const stackBad = spawnSync(BIN, ['stack', '--no-such-option'], opts);
    expect(stackBad.status).toBe(2);
    expect(stackBad.stderr).toContain('usage:');
  });
});
