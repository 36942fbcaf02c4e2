import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ReadinessArtifact } from '../domain/readiness.ts';

/** The committed, versioned readiness model (written by `studystream train-readiness` and the retrain job). */
export const READINESS_MODEL_FILE = fileURLToPath(new URL('../../models/readiness.json', import.meta.url));

/** How often a loaded artifact's file is checked for a newer version (a retrain replaces it atomically). */
export const ARTIFACT_CHECK_MS = 10_000;

const loaded = new Map<string, { mtimeMs: number; checkedAt: number; value: Promise<ReadinessArtifact> }>();

function parse(file: string, text: string): ReadinessArtifact {
  const a = JSON.parse(text) as ReadinessArtifact;
  if (
    typeof a.version !== 'string' ||
    !Array.isArray(a.models) ||
    !a.models.some((m) => m.name === a.defaultModel)
  )
    throw new Error(`${file} is not a readiness model artifact`);
  return a;
}

/**
 * Loads a readiness artifact once per path and process, and again when the file changed (checked at most every
 * ARTIFACT_CHECK_MS), so a retrained model is served without a restart; its version is in every response.
 */
export async function loadReadinessArtifact(
  file = READINESS_MODEL_FILE,
  nowMs = Date.now(),
): Promise<ReadinessArtifact> {
  const cached = loaded.get(file);
  if (cached && nowMs - cached.checkedAt < ARTIFACT_CHECK_MS) return cached.value;
  const { mtimeMs } = await stat(file);
  if (cached && cached.mtimeMs === mtimeMs) {
    cached.checkedAt = nowMs;
    return cached.value;
  }
  const value = readFile(file, 'utf8').then((text) => parse(file, text));
  loaded.set(file, { mtimeMs, checkedAt: nowMs, value });
  value.catch(() => loaded.delete(file));
  return value;
}
