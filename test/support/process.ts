import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (for a service started by a test or a benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Polls `<url>/readyz` until it answers 200; throws when the child exits first or after `attempts` tries
 * `intervalMs` apart, so a service that never became ready fails where it happened.
 */
export async function waitReady(
  url: string,
  child: ChildProcess,
  { attempts = 120, intervalMs = 500, name = 'the service' } = {},
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${name} did not become ready`);
}

/** A service process started by a test: its child process, URL and what it wrote on stderr so far. */
export type StartedService = { name: string; url: string; child: ChildProcess; stderr: () => string };

/**
 * Spawns `node <entry>` (a service's main) with `env` and waits for `<url>/readyz`; when it never becomes ready,
 * the error carries the tail of its stderr. Stop it (and the others) with stopServices.
 */
export async function startService(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  url: string,
): Promise<StartedService> {
  const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = { name, url, child, stderr: () => stderr };
  await waitReady(url, child, { attempts: 120, name }).catch((err: Error) => {
    child.kill('SIGTERM');
    throw new Error(`${err.message}: ${stderr.slice(-2000)}`);
  });
  return started;
}

/** SIGTERM to every service still running; resolves once all exited. */
export async function stopServices(services: StartedService[]): Promise<void> {
  await Promise.all(
    services.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
}
