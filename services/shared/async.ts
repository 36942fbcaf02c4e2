/**
 * Like Promise.all, but waits for every promise to settle before rejecting with the first failure. Batch writers
 * use it so a retry never starts while a write of the failed attempt is still in flight.
 */
export async function allSettledOrThrow<T>(promises: Iterable<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const values: T[] = [];
  for (const s of settled) {
    if (s.status === 'rejected') throw s.reason;
    values.push(s.value);
  }
  return values;
}

export type BackoffOptions = { initialMs: number; maxMs: number; factor: number; jitter: number };

/** Exponential backoff delay for the given attempt (0-based), capped, with proportional jitter from `random`. */
export function backoffDelay(
  opts: BackoffOptions,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** attempt);
  const spread = base * opts.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
