import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';

export const STACK_SCRIPT = fileURLToPath(new URL('../../../deploy/stack.sh', import.meta.url));

/** Runs deploy/stack.sh (the native stack is plain bash so it works before Node 24 is installed). */
export function runStack(args: string[]): number {
  const result = spawnSync('bash', [STACK_SCRIPT, ...args], { stdio: 'inherit' });
  return result.status ?? 1;
}

const stack: Command = async (args) => runStack(args);
export default stack;
