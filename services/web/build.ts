import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

/**
 * Builds the web dashboard (Vite) into services/web/dist when the build is missing or older than its sources
 * (services/web and the SDK it bundles). `npm start` and `npm test` call it; `node services/web/build.ts [--force]`
 * runs it by hand and prints the bundle size.
 */
const WEB = fileURLToPath(new URL('.', import.meta.url));
const SOURCES = [WEB, fileURLToPath(new URL('../sdk/', import.meta.url))];
export const DIST = join(WEB, 'dist');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

export function isStale(): boolean {
  const index = join(DIST, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((dir) => newest(dir) > built);
}

export type BundleSize = {
  files: Array<{ file: string; bytes: number; gzipBytes: number }>;
  bytes: number;
  gzipBytes: number;
};

/** Sizes of the built assets (raw and gzip, as a browser downloads them from a compressing server). */
export function bundleSize(): BundleSize {
  const dir = join(DIST, 'assets');
  const files = readdirSync(dir).map((file) => {
    const body = readFileSync(join(dir, file));
    return { file, bytes: body.length, gzipBytes: gzipSync(body).length };
  });
  return {
    files,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    gzipBytes: files.reduce((s, f) => s + f.gzipBytes, 0),
  };
}

/** Builds when stale (or forced); returns whether it built. */
export async function ensureWebBuilt(force = false): Promise<boolean> {
  if (!force && !isStale()) return false;
  const { build } = await import('vite');
  // Vite sets process.env.NODE_ENV = 'production' for its build; `npm start` builds in its own process and then
  // starts the services with that environment, which would make them refuse the development secrets.
  const nodeEnv = process.env.NODE_ENV;
  try {
    await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: 'warn' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const built = await ensureWebBuilt(process.argv.includes('--force'));
  const size = bundleSize();
  console.log(
    `web dashboard ${built ? `built in ${Date.now() - started} ms` : 'up to date'}: ${DIST} ` +
      `(${(size.bytes / 1024).toFixed(0)} KiB, ${(size.gzipBytes / 1024).toFixed(0)} KiB gzip: ` +
      size.files.map((f) => `${f.file} ${(f.gzipBytes / 1024).toFixed(0)} KiB gzip`).join(', ') +
      ')',
  );
}

/**
 * What `npm start` prints about the dashboard: its URL and, in development mode with local tokens, a one-click
 * sign-in link for the demo student (the token travels in the URL fragment, which never reaches a server; the page
 * moves it to session storage and removes it from the address bar).
 */
export async function dashboardHints(
  cfg: {
    HTTP_HOST: string;
    API_PORT: number;
    API_DEV_MODE: boolean;
    JWT_SECRET: string;
    JWT_JWKS_URL: string;
    JWT_ISSUER: string;
    JWT_AUDIENCE: string;
  },
  demoUser: string,
  built = existsSync(join(DIST, 'index.html')),
): Promise<string[]> {
  const base = `http://${cfg.HTTP_HOST}:${cfg.API_PORT}/`;
  if (!built) return [`dashboard: not built (node services/web/build.ts)`];
  if (!cfg.API_DEV_MODE || cfg.JWT_JWKS_URL) {
    return [`dashboard: ${base}  (sign in with a bearer token from the identity provider)`];
  }
  const { signToken } = await import('../analytics-api/index.ts');
  const token = await signToken(
    { sub: demoUser, role: 'student' },
    { secret: cfg.JWT_SECRET, ttlSec: 12 * 3600, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE },
  );
  return [
    `dashboard: ${base}  (development mode: pick a demo student or the demo educator)`,
    `  one-click demo sign-in as ${demoUser}: ${base}#token=${token}`,
  ];
}
