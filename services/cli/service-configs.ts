import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const SERVICES_DIR = fileURLToPath(new URL('../', import.meta.url));

/**
 * Imports every module under services/ that declares environment variables (calls defineEnv), so
 * `studystream config` lists them all without a hand-kept list that could drift.
 */
export async function loadServiceConfigs(): Promise<void> {
  const files = (await readdir(SERVICES_DIR, { recursive: true })).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.generated.ts'),
  );
  const declaring: string[] = [];
  for (const file of files) {
    const text = await readFile(`${SERVICES_DIR}${file}`, 'utf8');
    if (/\bdefineEnv\(\s*['"]/.test(text)) declaring.push(`${SERVICES_DIR}${file}`);
  }
  for (const module of declaring.sort()) await import(module);
}
