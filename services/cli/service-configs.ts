/** Imports every module that declares environment variables, so `studystream config` lists them all. */
export async function loadServiceConfigs(): Promise<void> {
  const modules = ['../shared/config.ts', '../ingest/config.ts', '../analytics-api/config.ts'];
  await Promise.all(modules.map((m) => import(m)));
}
