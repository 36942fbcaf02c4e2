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
