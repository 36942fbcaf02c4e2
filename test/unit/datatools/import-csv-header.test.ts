/**
 * Security regression (issue 18, finding 10): a CSV header `__proto__.polluted` used to set
 * `Object.prototype.polluted` through the nested-field writer of `studystream import`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCsvHeader, csvRow, readRows } from '../../../services/datatools/import.ts';

afterEach(() => {
  delete (Object.prototype as Record<string, unknown>).polluted;
});

describe('CSV import header', () => {
  for (const column of [
    '__proto__.polluted',
    'constructor.prototype.polluted',
    'client.__proto__',
    'a..b',
    'x y',
  ])
    it(`refuses the column ${JSON.stringify(column)} and pollutes nothing`, () => {
      expect(() => csvRow(['family', column], ['study-events', 'yes'])).toThrow(/invalid column name/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

  it('refuses such a header when reading a file, before any row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'csv-'));
    const file = join(dir, 'events.csv');
    writeFileSync(file, 'family,__proto__.polluted\nstudy-events,yes\n');
    const read = async () => {
      for await (const _ of readRows(file, 'csv')) void _;
    };
    await expect(read()).rejects.toThrow(/invalid column name/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts plain and nested field names, and refuses a repeated one', () => {
    expect(() => checkCsvHeader(['family', 'event_id', 'client.platform', 'topic_ids'])).not.toThrow();
    expect(() => checkCsvHeader(['family', 'event_id', 'event_id'])).toThrow(/twice/);
  });
});
