import { describe, expect, it } from 'vitest';
import { batchSkewMs, isOfflineSynced, OFFLINE_THRESHOLD_MS } from '../../../services/ingest/skew.ts';

describe('clock-skew rule', () => {
  const received = 1_700_000_000_000;
  it('does nothing without sent_at or within the tolerance', () => {
    expect(batchSkewMs(received, undefined, 120_000)).toBe(0);
    expect(batchSkewMs(received, received - 120_000, 120_000)).toBe(0);
    expect(batchSkewMs(received, received + 119_999, 120_000)).toBe(0);
  });
  it('shifts by received_at - sent_at beyond the tolerance, both directions', () => {
    expect(batchSkewMs(received, received - 3_600_000, 120_000)).toBe(3_600_000); // client clock 1 h behind
    expect(batchSkewMs(received, received + 600_000, 120_000)).toBe(-600_000); // client clock 10 min ahead
  });
  it('marks events older than 5 minutes as offline-synced', () => {
    expect(isOfflineSynced(received, received - OFFLINE_THRESHOLD_MS)).toBe(false);
    expect(isOfflineSynced(received, received - OFFLINE_THRESHOLD_MS - 1)).toBe(true);
  });
});
