import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, renderEventTypes } from '../../../services/shared/events-codegen.ts';

describe('generated event types', () => {
  it('services/shared/events.generated.ts matches schemas/*.avsc (run `studystream schemas types`)', async () => {
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(await renderEventTypes());
  });
});
