import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ReadinessArtifact } from '../domain/readiness.ts';

/** The committed, versioned readiness model (written by `studystream train-readiness`). */
export const READINESS_MODEL_FILE = fileURLToPath(new URL('../../models/readiness.json', import.meta.url));

const loaded = new Map<string, Promise<ReadinessArtifact>>();

/** Loads (once per path and process) and checks the shape of a readiness artifact. */
export function loadReadinessArtifact(file = READINESS_MODEL_FILE): Promise<ReadinessArtifact> {
  let p = loaded.get(file);
  if (!p) {
    p = readFile(file, 'utf8').then((text) => {
      const a = JSON.parse(text) as ReadinessArtifact;
      if (
        typeof a.version !== 'string' ||
        !Array.isArray(a.models) ||
        !a.models.some((m) => m.name === a.defaultModel)
      )
        throw new Error(`${file} is not a readiness model artifact`);
      return a;
    });
    p.catch(() => loaded.delete(file));
    loaded.set(file, p);
  }
  return p;
}
