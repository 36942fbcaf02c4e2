import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { declaredEnv } from '../../../services/shared/config.ts';
import { loadServiceConfigs } from '../../../services/cli/service-configs.ts';
import { BENCHES } from '../../../services/cli/commands/bench.ts';
import { COMMANDS } from '../../../services/cli/cli.ts';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every environment variable the code declares, with its default', async () => {
    await loadServiceConfigs();
    const missing: string[] = [];
    for (const { spec } of declaredEnv()) {
      for (const [name, { default: value }] of Object.entries(spec)) {
        if (name.startsWith('UNIT_')) continue;
        const row = README.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
        const expected = value === '' ? '(empty)' : `\`${value}\``;
        if (!row || !row.includes(` ${expected} `)) missing.push(name);
      }
    }
    expect(missing).toEqual([]);
  });

  it('names every CLI command and benchmark', async () => {
    const commands = Object.keys(COMMANDS);
    expect(commands.length).toBeGreaterThan(10);
    for (const command of commands) expect(README).toMatch(new RegExp(`\\| \`${command}[ \`]`));
    for (const bench of Object.keys(BENCHES)) expect(README).toContain(`\`${bench}\``);
  });
});
