import { describe, expect, it } from 'vitest';
import { compareSessions, type SessionCounts } from '../../../services/datatools/reconcile.ts';

const c = (events: number, answers: number, first: number): SessionCounts => ({ events, answers, first });
const all = { from: null, to: null };

describe('reconcile: sessions of the history against written and live sessions', () => {
  const history = new Map([
    ['u1:a', c(5, 2, 1_000)],
    ['u1:b', c(3, 0, 2_000)],
    ['u2:a', c(4, 4, 3_000)],
    ['u2:c', c(2, 1, 9_000)],
  ]);

  it('reconciles when every session is written or live with the same events and answers', () => {
    const written = new Map([
      ['u1:a', c(5, 2, 1_000)],
      ['u2:a', c(4, 4, 3_000)],
      ['u2:c', c(2, 1, 9_000)],
    ]);
    const live = new Map([['u1:b', c(3, 0, 2_000)]]);
    expect(compareSessions(history, written, live, all)).toEqual({
      inHistory: 4,
      written: 3,
      live: 1,
      missing: 0,
      differing: 0,
      examples: [],
      eventsInHistory: 14,
      eventsInSessions: 14,
      answersInHistory: 7,
      answersInSessions: 7,
    });
  });

  it('reports missing and differing sessions (scoped to their student) with examples', () => {
    const written = new Map([
      ['u1:a', c(4, 2, 1_000)],
      ['u1:c', c(2, 1, 9_000)],
    ]);
    const r = compareSessions(history, written, new Map([['u2:a', c(4, 3, 3_000)]]), all);
    expect(r).toMatchObject({ missing: 2, differing: 2, written: 1, live: 1, eventsInSessions: 8 });
    expect(r.examples).toEqual([
      'u1:a events 4/5 answers 2/2',
      'u1:b missing',
      'u2:a events 4/4 answers 3/4',
      'u2:c missing',
    ]);
  });

  it('selects sessions by their first event: from inclusive, to exclusive', () => {
    const r = compareSessions(history, history, new Map(), { from: 2_000, to: 9_000 });
    expect(r).toMatchObject({ inHistory: 2, eventsInHistory: 7, missing: 0 });
  });
});
