import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { until } from '../../support/wait.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs `studystream <args>` as a child process with the given environment. */
export function cli(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${ROOT}bin/studystream`, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  return until(what, check, timeoutMs, 250);
}
