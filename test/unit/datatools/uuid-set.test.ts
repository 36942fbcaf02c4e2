import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UuidSet } from '../../../services/datatools/uuid-set.ts';

describe('UuidSet', () => {
  it('agrees with a Set<string> through growth, and refuses what is not a canonical UUID', () => {
    const mine = new UuidSet(4);
    const ref = new Set<string>();
    const ids = Array.from({ length: 20_000 }, () => randomUUID());
    for (const [i, id] of ids.entries()) {
      if (i % 3 === 0) continue;
      mine.add(id);
      mine.add(id);
      ref.add(id);
    }
    expect(mine.size).toBe(ref.size);
    for (const id of ids) expect(mine.has(id)).toBe(ref.has(id));
    expect(mine.has('00000000-0000-4000-8000-000000000000')).toBe(false);
    expect(() => mine.add('not-a-uuid')).toThrow(/canonical UUID/);
    expect(() => mine.has(ids[0]!.toUpperCase())).toThrow(/canonical UUID/);
  });
});
