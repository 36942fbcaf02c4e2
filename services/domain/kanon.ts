/** k-anonymity guard for cohort aggregates: a group smaller than k is never reported. */

export const DEFAULT_K_ANONYMITY = 10;

export function kAnonymous(groupSize: number, k: number = DEFAULT_K_ANONYMITY): boolean {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  return Number.isFinite(groupSize) && groupSize >= k;
}

/** Keeps only the groups large enough to report, preserving their order. */
export function suppressSmallGroups<T>(
  groups: readonly T[],
  sizeOf: (group: T) => number,
  k: number = DEFAULT_K_ANONYMITY,
): T[] {
  return groups.filter((group) => kAnonymous(sizeOf(group), k));
}
