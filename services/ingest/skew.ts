/**
 * Clock-skew rule for offline batches (documented in the README):
 *
 * A batch may carry `sent_at`, the client's clock when it sent the batch. The server stamps `received_at`.
 * If |received_at - sent_at| > tolerance, the client clock is taken to be off by (received_at - sent_at),
 * and every occurred_at in the batch is shifted by that amount; the shift is recorded in
 * client.clock_skew_ms. Within the tolerance (network delay, small drift) nothing is shifted.
 * Independently, an event whose corrected occurred_at is more than 5 minutes before received_at is marked
 * client.offline_synced = true (it was queued on the device).
 */

export const OFFLINE_THRESHOLD_MS = 5 * 60_000;

/** The shift to add to every occurred_at of a batch (0 when no correction applies). */
export function batchSkewMs(receivedAt: number, sentAt: number | undefined, toleranceMs: number): number {
  if (sentAt === undefined) return 0;
  const skew = receivedAt - sentAt;
  return Math.abs(skew) > toleranceMs ? skew : 0;
}

export function isOfflineSynced(receivedAt: number, correctedOccurredAt: number): boolean {
  return receivedAt - correctedOccurredAt > OFFLINE_THRESHOLD_MS;
}
